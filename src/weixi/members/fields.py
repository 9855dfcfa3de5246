"""What ``weixi load`` accepts: the loadable tables, their fields, kinds, header aliases and code lists.

Each loadable table is a :class:`TableSpec`: its canonical fields (the columns of docs/operator-data.md),
which of them form the key, which columns a file must have, and the Chinese CRM headers recognised for each
field.  Money fields are stored as integer fen (``amount_fen``); a file gives them either in yuan (target
name without ``_fen``: ``amount``, ``monthly_rent``) or in fen (``amount_fen``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from weixi.members.taxonomy import COMPLAINT_CATEGORIES

# A mainland mobile number with an allocated prefix (13x, 14x, 15x, 16x, 17x, 18x, 19x): the ``phone`` kind.
MOBILE_RE = re.compile(r"^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$")

# kinds: key, text, phone, contact, idnum, date, month, ts, money, int, bool, enum, lunar, star


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    codes: dict[str, str] | None = None  # enum: accepted spelling (normalised) -> code
    lo: int | None = None
    hi: int | None = None

    @property
    def yuan_name(self) -> str | None:
        """Money fields: the target name for values in yuan (``amount`` for ``amount_fen``)."""
        return self.name[: -len("_fen")] if self.kind == "money" else None


@dataclass(frozen=True)
class TableSpec:
    name: str
    store: str  # the archive table the rows go to (contracts -> members)
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    required: tuple[tuple[str, ...], ...]  # each group: the file must map at least one of these fields
    member_ref: bool = True  # rows must name a member already in the archive
    defaults: dict[str, str] = field(default_factory=dict)  # SQL default for new rows when the column is absent

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def _codes(pairs: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, spellings in pairs.items():
        for s in (code, *spellings):
            out[norm_value(s)] = code
    return out


def norm_value(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def norm_header(h: str) -> str:
    """Header matching ignores case, spaces, ``_``/``-``, a BOM and full-width brackets."""
    h = h.replace("\ufeff", "").replace("（", "(").replace("）", ")")
    return re.sub(r"[\s_\-]", "", h).lower()


MEMBER_ID = ("用户编号", "客户编号", "用户id", "客户id", "会员编号", "会员id", "会员号", "用户标识", "客户标识")
MONTH = ("账期", "账务月份", "账单月份", "计费月份", "出账月份", "统计月份", "月份")

GENDERS = _codes({"M": ("男", "male", "男性", "1"), "F": ("女", "female", "女性", "2")})
PAYMENT_TYPES = _codes({"prepaid": ("预付费", "预付"), "postpaid": ("后付费", "后付")})
CARD_ROLES = _codes({"primary": ("主卡", "主号"), "secondary": ("副卡", "副号")})
NETWORKS = _codes({"4G": ("4g网络", "lte"), "5G": ("5g网络", "nr")})
SERVICE_TYPES = _codes({"mobile": ("移动", "手机", "话费", "语音", "移动业务"), "broadband": ("宽带", "宽带业务"),
                        "value_added": ("增值", "增值业务", "增值服务")})  # fmt: skip
RECHARGE_CHANNELS = _codes({"app": ("手机营业厅", "网上营业厅", "网厅", "掌厅"), "wechat_pay": ("微信", "微信支付"),
                            "alipay": ("支付宝",), "store": ("营业厅", "实体厅", "柜台", "实体营业厅"),
                            "recharge_card": ("充值卡", "充值卡充值")})  # fmt: skip
COMPLAINT_CHANNELS = _codes({"hotline": ("10086", "10000", "10010", "热线", "客服热线", "电话"),
                             "app": ("手机营业厅", "网厅"), "store": ("营业厅", "实体厅"),
                             "miit": ("工信部", "工信部申诉", "申诉")})  # fmt: skip
SURVEY_CHANNELS = _codes({"sms": ("短信",), "ivr": ("语音", "电话", "外呼"), "app": ("手机营业厅",)})
CATEGORIES = _codes({code: (label,) for code, label, _ in COMPLAINT_CATEGORIES})
INCOME_BANDS = _codes({b: () for b in ("<3k", "3k-5k", "5k-8k", "8k-15k", "15k-30k", ">30k")})

MEMBER_FIELDS: tuple[Field, ...] = (
    Field("member_id", "key", MEMBER_ID),
    Field("name", "text", ("姓名", "客户姓名", "用户姓名", "客户名称", "会员姓名", "机主姓名")),
    Field("gender", "enum", ("性别",), GENDERS),
    Field("birthday", "date", ("出生日期", "生日", "出生年月日", "公历生日", "阳历生日")),
    Field("lunar_birthday", "lunar", ("农历生日", "阴历生日")),
    Field(
        "phone",
        "phone",
        ("手机号码", "手机号", "联系电话", "服务号码", "用户号码", "手机", "电话号码", "移动电话", "号码"),
    ),
    Field(
        "second_contact",
        "contact",
        (
            "第二联系人电话",
            "第二联系电话",
            "备用联系电话",
            "备用电话",
            "紧急联系人电话",
            "其他联系电话",
            "第二联系方式",
        ),
    ),
    Field("id_number", "idnum", ("身份证号", "身份证号码", "证件号码", "证件号", "身份证")),
    Field("city", "text", ("城市", "地市", "所在城市", "地市名称")),
    Field("district", "text", ("区县", "所在区县", "区域")),
    Field("join_date", "date", ("入网时间", "入网日期", "开户日期", "开户时间")),
    Field("plan_name", "text", ("套餐名称", "套餐", "主套餐", "资费套餐")),
    Field("monthly_rent_fen", "money", ("月租", "月租费", "套餐月租", "套餐费")),
    Field("payment_type", "enum", ("付费类型", "付费方式"), PAYMENT_TYPES),
    Field("card_role", "enum", ("主副卡", "主副卡标识", "卡类型"), CARD_ROLES),
    Field("primary_member_id", "key", ("主卡用户编号", "主卡编号", "主卡客户编号")),
    Field("network", "enum", ("网络类型", "网络制式", "网络"), NETWORKS),
    Field("broadband", "bool", ("是否宽带", "宽带", "融合宽带", "有无宽带")),
    Field("broadband_mbps", "int", ("宽带速率", "宽带带宽"), lo=1, hi=100_000),
    Field("contract_start", "date", ("合约开始日期", "合约生效日期", "合约开始时间", "合约开始")),
    Field("contract_end", "date", ("合约到期日期", "合约结束日期", "合约到期时间", "合约到期")),
    Field("subsidy_end", "date", ("补贴到期日期", "补贴结束日期", "补贴到期时间", "补贴到期")),
    Field("manager_id", "key", ("客户经理", "客户经理编号", "客户经理工号", "维系经理", "所属客户经理")),
    Field("wechat", "text", ("微信", "微信号")),
    Field("qq", "text", ("qq号", "qq号码")),
    Field("income_band", "enum", ("收入", "收入水平", "月收入", "收入档次"), INCOME_BANDS),
    Field("occupation", "text", ("职业",)),
    Field("hobbies", "text", ("爱好", "兴趣爱好")),
    Field("star_level", "star", ("星级", "客户星级", "用户星级")),
)

CONTRACT_COLUMNS = ("contract_start", "contract_end", "subsidy_end")

TABLES: dict[str, TableSpec] = {
    "members": TableSpec(
        "members",
        "members",
        ("member_id",),
        MEMBER_FIELDS,
        (("member_id",),),
        member_ref=False,
    ),
    "contracts": TableSpec(
        "contracts",
        "members",
        ("member_id",),
        tuple(f for f in MEMBER_FIELDS if f.name in ("member_id", *CONTRACT_COLUMNS)),
        (("member_id",), CONTRACT_COLUMNS),
    ),
    "bills": TableSpec(
        "bills",
        "bills",
        ("bill_id",),
        (
            Field("bill_id", "key", ("账单编号", "账单号", "账单id", "账单流水号")),
            Field("member_id", "key", MEMBER_ID),
            Field("month", "month", MONTH),
            Field("billed_on", "date", ("出账日期", "出账时间", "账单日期")),
            Field("service_type", "enum", ("业务类型", "费用类型", "服务类型"), SERVICE_TYPES),
            Field("amount_fen", "money", ("金额", "应收金额", "账单金额", "消费金额", "应缴金额", "费用", "出账金额")),
            Field("paid", "bool", ("是否缴费", "缴费状态", "支付状态", "是否已缴")),
            Field("paid_on", "date", ("缴费日期", "缴费时间", "支付日期")),
        ),
        (("bill_id",), ("member_id",), ("amount_fen",), ("month", "billed_on")),
        defaults={"service_type": "'mobile'"},
    ),
    "recharges": TableSpec(
        "recharges",
        "recharges",
        ("recharge_id",),
        (
            Field("recharge_id", "key", ("充值流水号", "充值编号", "充值单号", "交易流水号", "充值id")),
            Field("member_id", "key", MEMBER_ID),
            Field("month", "month", MONTH),
            Field("recharged_at", "ts", ("充值时间", "交易时间", "充值日期")),
            Field("amount_fen", "money", ("充值金额", "金额")),
            Field("channel", "enum", ("充值渠道", "渠道", "充值方式"), RECHARGE_CHANNELS),
        ),
        (("recharge_id",), ("member_id",), ("amount_fen",), ("recharged_at",)),
    ),
    "usage": TableSpec(
        "usage",
        "usage",
        ("member_id", "month"),
        (
            Field("member_id", "key", MEMBER_ID),
            Field("month", "month", MONTH),
            Field(
                "voice_minutes",
                "int",
                ("通话时长", "语音通话分钟数", "通话分钟数", "语音分钟", "语音时长"),
                lo=0,
                hi=2**31 - 1,
            ),
            Field("data_mb", "int", ("流量", "上网流量", "数据流量", "流量mb"), lo=0, hi=2**62),
            Field("sms_count", "int", ("短信条数", "短信数", "短信"), lo=0, hi=2**31 - 1),
        ),
        (("member_id",), ("month",), ("voice_minutes", "data_mb", "sms_count")),
        defaults={"voice_minutes": "0", "data_mb": "0", "sms_count": "0"},
    ),
    "complaints": TableSpec(
        "complaints",
        "complaints",
        ("complaint_id",),
        (
            Field("complaint_id", "key", ("投诉编号", "投诉单号", "工单号", "工单编号", "投诉工单号")),
            Field("member_id", "key", MEMBER_ID),
            Field("month", "month", MONTH),
            Field("opened_at", "ts", ("投诉时间", "受理时间", "建单时间")),
            Field("category", "enum", ("投诉类别", "投诉类型", "投诉原因", "投诉分类"), CATEGORIES),
            Field("channel", "enum", ("投诉渠道", "受理渠道", "渠道"), COMPLAINT_CHANNELS),
            Field("resolved", "bool", ("是否解决", "处理状态", "解决状态", "是否办结")),
            Field("resolved_at", "ts", ("解决时间", "办结时间", "处理完成时间")),
            Field("satisfaction", "int", ("满意度", "满意度评分", "回访满意度"), lo=1, hi=5),
        ),
        (("complaint_id",), ("member_id",), ("opened_at",), ("category",)),
    ),
    "surveys": TableSpec(
        "surveys",
        "surveys",
        ("survey_id",),
        (
            Field("survey_id", "key", ("调查编号", "问卷编号", "测评编号", "调查id")),
            Field("member_id", "key", MEMBER_ID),
            Field("month", "month", MONTH),
            Field("surveyed_at", "ts", ("调查时间", "测评时间", "回访时间")),
            Field("channel", "enum", ("调查渠道", "测评渠道", "渠道"), SURVEY_CHANNELS),
            Field("score", "int", ("评分", "满意度得分", "得分", "分数", "满意度"), lo=1, hi=10),
        ),
        (("survey_id",), ("member_id",), ("surveyed_at",), ("score",)),
    ),
}

# Columns of a quarantine file that are not data (a fixed quarantine file can be loaded back as it is).
# the columns a quarantine file starts with: where, what, why in English, and why as error-catalogue codes with
# their params (a JSON list, one object per code) that a page renders in its reader's language
QUARANTINE_COLUMNS = ("row", "field", "value", "reason", "code", "params")
QUARANTINE_MARK = QUARANTINE_COLUMNS[:4]  # a file with these headers is a quarantine file (older ones lack codes)


def alias_index(spec: TableSpec) -> dict[str, str]:
    """Normalised header -> target name (a field name, or a money field's yuan name)."""
    index: dict[str, str] = {}
    for f in spec.fields:
        index[norm_header(f.name)] = f.name
        target = f.yuan_name or f.name
        if f.yuan_name:
            index[norm_header(f.yuan_name)] = f.yuan_name
        for a in f.aliases:
            index.setdefault(norm_header(a), target)
    return index


def targets(spec: TableSpec) -> dict[str, tuple[Field, str]]:
    """Target name -> (field, unit) where unit is ``yuan``, ``fen`` or ``""``."""
    out: dict[str, tuple[Field, str]] = {}
    for f in spec.fields:
        if f.kind == "money":
            out[f.name] = (f, "fen")
            out[f.yuan_name] = (f, "yuan")  # type: ignore[index]
        else:
            out[f.name] = (f, "")
    return out


def resolve_header(spec: TableSpec, header: str) -> str | None:
    """The target of a file header by the built-in aliases, or None.  ``月租(元)`` matches ``月租``;
    a money header whose brackets say ``分`` (``金额(分)``) is read as fen."""
    index = alias_index(spec)
    h = norm_header(header)
    if h in index:
        return index[h]
    m = re.fullmatch(r"(.*?)\((.*)\)", h)
    if m and m.group(1) in index:
        target = index[m.group(1)]
        unit = m.group(2)
        t = targets(spec).get(target)
        if t and t[0].kind == "money" and unit in ("分", "fen"):
            return t[0].name
        return target
    return None
