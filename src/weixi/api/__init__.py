"""REST API and the shared web app: ``weixi.api.app.create_app``; auth, permissions and the error envelope."""
