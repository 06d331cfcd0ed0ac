"""Deterministic, fast generation of a realistic Chinese organisation for the sandbox."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

_SURNAMES = (
    "王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma 朱zhu "
    "胡hu 郭guo 何he 高gao 林lin 罗luo 郑zheng 梁liang 谢xie 宋song 唐tang 许xu 韩han 冯feng "
    "邓deng 曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 袁yuan 潘pan 于yu 蒋jiang 蔡cai 余yu 杜du "
    "叶ye 程cheng 苏su 魏wei 吕lv 丁ding 任ren 沈shen 姚yao 卢lu 姜jiang 崔cui 钟zhong 谭tan "
    "陆lu 汪wang 范fan 金jin 石shi 廖liao 贾jia 夏xia 韦wei 付fu 方fang 白bai 邹zou 孟meng "
    "熊xiong 秦qin 邱qiu 江jiang 尹yin 薛xue 闫yan 段duan 雷lei 侯hou 龙long 史shi 陶tao 黎li "
    "贺he 顾gu 毛mao 郝hao 龚gong 邵shao 万wan 钱qian 严yan 覃qin 武wu 戴dai 莫mo 孔kong 欧阳ouyang"
)
_GIVEN = (
    "伟wei 芳fang 娜na 敏min 静jing 丽li 强qiang 磊lei 军jun 洋yang 勇yong 艳yan 杰jie 娟juan "
    "涛tao 明ming 超chao 秀xiu 霞xia 平ping 刚gang 桂gui 英ying 华hua 玉yu 兰lan 萍ping 红hong "
    "建jian 文wen 辉hui 力li 斌bin 宇yu 浩hao 凯kai 鹏peng 飞fei 鑫xin 婷ting 雪xue 琳lin 晨chen "
    "欣xin 怡yi 佳jia 嘉jia 子zi 梓zi 涵han 轩xuan 睿rui 博bo 思si 雨yu 泽ze 航hang 晓xiao "
    "俊jun 峰feng 亮liang 波bo 宁ning 颖ying 慧hui 倩qian 丹dan 莉li 燕yan 琪qi 璐lu 阳yang "
    "志zhi 国guo 海hai 东dong 春chun 秋qiu 冬dong 成cheng 林lin 彬bin 坤kun 毅yi 诚cheng 瑶yao "
    "悦yue 昊hao 然ran 铭ming 奕yi 晗han 楠nan 薇wei 蕾lei 露lu 清qing 晴qing 越yue 君jun 松song"
)


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split():
        han = "".join(c for c in item if not c.isascii())
        out.append((han, item[len(han) :]))
    return out


SURNAMES = _pairs(_SURNAMES)
GIVEN = _pairs(_GIVEN)

TOP_DEPARTMENTS = [
    "研发中心",
    "产品部",
    "市场部",
    "销售部",
    "人力资源部",
    "财务部",
    "行政部",
    "客户服务部",
    "法务部",
    "运营部",
    "供应链管理部",
    "信息技术部",
    "品牌公关部",
    "战略投资部",
]
SUB_DEPARTMENTS = [
    "前端开发组",
    "后端开发组",
    "测试组",
    "运维组",
    "数据平台组",
    "算法组",
    "移动端组",
    "架构组",
    "产品设计组",
    "用户研究组",
    "华东大区",
    "华南大区",
    "华北大区",
    "西南大区",
    "华中大区",
    "大客户组",
    "渠道组",
    "招聘组",
    "培训组",
    "薪酬福利组",
    "会计组",
    "出纳组",
    "税务组",
    "采购组",
    "仓储组",
    "物流组",
    "品牌组",
    "新媒体组",
    "活动策划组",
    "客服一组",
    "客服二组",
    "质量保障组",
    "安全组",
    "合规组",
    "商务拓展组",
    "投资者关系组",
    "行政事务组",
    "资产管理组",
]
TITLES = [
    "工程师",
    "高级工程师",
    "资深工程师",
    "技术专家",
    "产品经理",
    "高级产品经理",
    "设计师",
    "销售代表",
    "客户经理",
    "区域经理",
    "会计",
    "出纳",
    "人事专员",
    "招聘专员",
    "行政专员",
    "运营专员",
    "市场专员",
    "法务专员",
    "采购专员",
    "客服专员",
    "主管",
    "经理",
    "总监",
]
CITIES = ["杭州", "上海", "北京", "深圳", "广州", "成都", "武汉", "南京", "西安", "苏州"]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
_ALNUM = string.ascii_letters + string.digits


@dataclass
class SeedData:
    """Departments and users ready to load into the sandbox's corp."""

    departments: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)


def unique_ints(rng: random.Random, count: int, low: int, high: int) -> list[int]:
    """`count` distinct integers in [low, high), fast for large counts."""
    return rng.sample(range(low, high), count)


def generate(
    departments: int = 20,
    users: int = 100,
    seed: int | str = 0,
    domain: str = "example.cn",
) -> SeedData:
    """A nested department tree (root 1 not counted) and users with names, mobiles, emails."""
    rng = random.Random(str(seed))
    data = SeedData()
    dept_ids = unique_ints(rng, departments, 100_000_000, 999_999_999)
    depth: dict[int, int] = {1: 0}
    names_under: dict[int, set[str]] = {1: set()}
    parents: list[int] = [1]
    for index, dept_id in enumerate(dept_ids):
        if index < min(len(TOP_DEPARTMENTS), max(1, departments // 8)):
            parent = 1
            pool = TOP_DEPARTMENTS
        else:
            parent = rng.choice(parents)
            pool = SUB_DEPARTMENTS if parent != 1 else TOP_DEPARTMENTS
        base = rng.choice(pool)
        name, suffix = base, 2
        while name in names_under[parent]:
            name = f"{base}{suffix}"
            suffix += 1
        names_under[parent].add(name)
        names_under[dept_id] = set()
        depth[dept_id] = depth[parent] + 1
        if depth[dept_id] < 5:
            parents.append(dept_id)
        data.departments.append(
            {"dept_id": dept_id, "name": name, "parent_id": parent, "order": index + 1}
        )

    all_depts = [1] + dept_ids
    mobiles = unique_ints(rng, users, 0, 100_000_000)
    userids = unique_ints(rng, users, 10**15, 10**16)
    emails: set[str] = set()
    now_ms = 1_780_000_000_000
    for index in range(users):
        surname, s_py = rng.choice(SURNAMES)
        given = rng.sample(GIVEN, rng.choice((1, 2, 2)))
        name = surname + "".join(g for g, _ in given)
        g_py = "".join(p for _, p in given)
        local = f"{g_py}.{s_py}"
        candidate, n = local, 1
        while candidate in emails:
            n += 1
            candidate = f"{local}{n}"
        emails.add(candidate)
        if index == 0 or not dept_ids:
            depts = [1]
        else:
            # Most people spread evenly; some crowd into a few big departments (multi-page lists).
            big = all_depts[: max(1, len(all_depts) // 100)]
            primary = rng.choice(all_depts) if rng.random() < 0.7 else rng.choice(big)
            depts = [primary]
            if rng.random() < 0.05:
                other = rng.choice(all_depts)
                if other != primary:
                    depts.append(other)
        data.users.append(
            {
                "userid": f"0{userids[index]}",
                "unionid": "".join(rng.choices(_ALNUM, k=24)) + "iEiE",
                "name": name,
                "mobile": f"{rng.choice(MOBILE_PREFIXES)}{mobiles[index]:08d}",
                "state_code": "86",
                "email": f"{candidate}@{domain}",
                "org_email": f"{candidate}@{domain}",
                "job_number": f"E{index + 1:06d}",
                "title": "首席执行官" if index == 0 else rng.choice(TITLES),
                "work_place": rng.choice(CITIES),
                "hired_date": now_ms - rng.randrange(0, 10 * 365 * 86_400_000),
                "dept_id_list": depts,
                "admin": index < 3,
                "boss": index == 0,
                "sys_level": 1 if index == 0 else (2 if index < 3 else 0),
                "active": rng.random() > 0.02,
            }
        )
    return data
