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
}

OTHER = "other"  # in a role list: every role not named by an earlier row
