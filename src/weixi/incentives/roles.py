"""Staff roles known to incentive plans and rosters (English ids, Chinese names)."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "clerk": "营业员",
    "center_manager": "中心经理",
    "grid_manager": "网格经理",
    "grid_staff": "网格人员",  # seed 003's 预存送费 roles: grid staff who are not the grid manager
    "maintenance_manager": "装维经理",
    "customer_manager": "客户经理",
    "agent": "外呼坐席",
    "intern": "实习生",
    "team_leader": "组长",
    "maintenance_worker": "维修员",
    "sales_consultant": "销售顾问",
    # who decides the steps of an approval chain (issue 19 §6; seed 003, 转介绍奖励方案 and 维修部激励方案)
    "information_officer": "信息员",
    "sales_director": "销售总监",
    "retail_manager": "零售经理",
    "customer_service": "客服部专员",
    "general_manager": "总经理",
    "supervisor": "主管",
    "director": "总监",
}

OTHER = "other"  # in a role list: every role not named by an earlier row

# One role vocabulary for incentives, operations and logins (issue 19 §12): the operations roster's codes
# (``weixi.operations.plan.ROLES``) that name a role of :data:`ROLES` under another code. A roster may use either;
# the incentive engine reads the role of :data:`ROLES`. Both codes are named by the names kind ``staff_role``.
ALIASES: dict[str, str] = {
    "lead": "team_leader",  # 组长
    "manager": "customer_manager",  # the member-maintaining 客户经理 of the operations roster
    "senior_manager": "customer_manager",  # a senior 客户经理: paid as a customer manager
}


def canonical(role: str | None) -> str | None:
    """The role of :data:`ROLES` a roster's role code stands for."""
    return ALIASES.get(role, role) if role is not None else None
