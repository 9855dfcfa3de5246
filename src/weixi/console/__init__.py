"""The web console for operators and the member self-service page: server-rendered Jinja2 pages with htmx and
ECharts (vendored under ``static/vendor``), in Chinese by default and English on a switch (:mod:`weixi.i18n`).

``routes.router`` is included by :func:`weixi.api.app.create_app`; see docs/console.md.
"""
