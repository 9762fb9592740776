//! The proportions and word tables of the demo province (all documented in `mod.rs`).
//!
//! Weights are integers (per 10,000 or relative); every word used in a name is checked
//! against the embedded `data/names/*.txt` lists by the tests.

use crate::model::{EntityType, Status};

/// Entity types, per 10,000: 个体工商户 68 %, 企业 30 %, 农民专业合作社 1 %, 分支机构 1 %.
pub(crate) const TYPES: &[(EntityType, u32)] = &[
    (EntityType::IndividualBusiness, 6_800),
    (EntityType::Enterprise, 3_000),
    (EntityType::FarmerCooperative, 100),
    (EntityType::Branch, 100),
];

/// Statuses, per 10,000: 存续 93 %, 歇业 3 %, 吊销 2 %, 注销 2 %.
pub(crate) const STATUSES: &[(Status, u32)] = &[
    (Status::Active, 9_300),
    (Status::Suspended, 300),
    (Status::Revoked, 200),
    (Status::Deregistered, 200),
];

/// Relative weight of an industry division (大类) by entity type; a division not listed has
/// weight [`ENTERPRISE_DEFAULT`] for enterprises and branches (except sections S and T,
/// public bodies and international organisations, which are never drawn) and 0 otherwise.
#[rustfmt::skip]
pub(crate) const ENTERPRISE_DIVISIONS: &[(&str, u32)] = &[
    ("51", 60), ("52", 25), ("72", 30), ("75", 20), ("65", 15), ("50", 12), ("54", 10),
    ("48", 8), ("70", 8), ("74", 8), ("64", 8), ("47", 6), ("49", 6), ("62", 6), ("01", 6),
    ("58", 5), ("71", 5), ("34", 5), ("35", 5), ("03", 4), ("13", 4), ("33", 4), ("38", 4),
    ("80", 4), ("81", 4), ("88", 4), ("05", 3), ("14", 3), ("18", 3), ("26", 3), ("29", 3),
    ("30", 3), ("39", 3), ("59", 3), ("61", 3), ("82", 3), ("87", 3), ("89", 3), ("90", 3),
    ("66", 1), ("67", 1), ("68", 1), ("69", 1),
];
pub(crate) const ENTERPRISE_DEFAULT: u32 = 2;

/// 个体工商户: retail, catering and household services above all.
#[rustfmt::skip]
pub(crate) const INDIVIDUAL_DIVISIONS: &[(&str, u32)] = &[
    ("52", 420), ("62", 150), ("80", 80), ("51", 60), ("81", 50), ("54", 30), ("01", 25),
    ("82", 20), ("03", 15), ("61", 15), ("50", 15), ("72", 10), ("90", 10), ("13", 5),
    ("14", 5), ("18", 5), ("71", 5), ("75", 5), ("88", 5), ("89", 5), ("21", 3), ("33", 3),
    ("60", 3), ("64", 3), ("65", 3), ("83", 3),
];

/// 农民专业合作社: farming, animal husbandry and farm services.
pub(crate) const COOPERATIVE_DIVISIONS: &[(&str, u32)] = &[
    ("01", 50),
    ("03", 20),
    ("05", 15),
    ("02", 6),
    ("04", 5),
    ("13", 4),
];

/// 行业 words of an entity name by industry division; every word is in `trade.txt`.
#[rustfmt::skip]
pub(crate) const DIVISION_TRADES: &[(&str, &[&str])] = &[
    ("01", &["农业", "种植", "生态农业", "现代农业"]),
    ("02", &["林业", "农林"]),
    ("03", &["畜牧", "养殖", "牧业"]),
    ("04", &["渔业", "水产", "养殖"]),
    ("05", &["农业", "农机", "农资", "农业产业"]),
    ("13", &["农副产品", "食品"]),
    ("14", &["食品", "食品科技"]),
    ("15", &["饮料", "食品"]),
    ("17", &["纺织", "针织"]),
    ("18", &["服装", "服饰", "鞋业"]),
    ("19", &["皮革", "鞋业", "箱包"]),
    ("20", &["木业"]),
    ("21", &["家具", "家居"]),
    ("22", &["纸业", "包装"]),
    ("23", &["印刷", "包装"]),
    ("24", &["文化用品", "工艺品"]),
    ("25", &["石油", "能源"]),
    ("26", &["化工"]),
    ("27", &["医药", "制药"]),
    ("28", &["化纤", "材料"]),
    ("29", &["塑料", "橡胶", "塑胶"]),
    ("30", &["建材"]),
    ("31", &["钢铁", "冶金"]),
    ("32", &["有色金属", "合金材料"]),
    ("33", &["金属制品", "五金"]),
    ("34", &["机械"]),
    ("35", &["机械", "设备"]),
    ("36", &["汽车配件", "汽车部件", "汽车"]),
    ("37", &["车辆", "自行车", "摩托车"]),
    ("38", &["电气", "电器"]),
    ("39", &["电子"]),
    ("40", &["仪器", "仪表", "自动化"]),
    ("41", &["工艺品", "饰品"]),
    ("42", &["再生资源", "回收"]),
    ("43", &["维修", "检修"]),
    ("44", &["电力", "能源", "新能源", "发电"]),
    ("45", &["燃气", "能源"]),
    ("46", &["供水", "环保"]),
    ("47", &["建筑", "建筑工程", "工程"]),
    ("48", &["工程", "市政工程", "建设"]),
    ("49", &["安装", "机电", "工程"]),
    ("50", &["装饰", "装修", "建筑装修"]),
    ("51", &["商贸", "贸易", "物资", "商务"]),
    ("52", &["商贸", "贸易"]),
    ("53", &["运输", "物流"]),
    ("54", &["物流", "运输", "货运"]),
    ("55", &["运输", "物流"]),
    ("56", &["航空"]),
    ("57", &["管道", "能源"]),
    ("58", &["物流", "货运", "运输"]),
    ("59", &["仓储", "物流"]),
    ("60", &["快递", "物流"]),
    ("61", &["酒店", "旅游", "快捷酒店"]),
    ("62", &["餐饮", "食品"]),
    ("63", &["通讯", "通信", "网络"]),
    ("64", &["网络科技", "网络", "信息技术"]),
    ("65", &["科技", "软件", "信息技术", "网络科技"]),
    ("66", &["金融", "投资"]),
    ("67", &["投资", "资产"]),
    ("68", &["保险"]),
    ("69", &["金融", "投资", "担保"]),
    ("70", &["房地产", "置业", "地产", "物业"]),
    ("71", &["租赁"]),
    ("72", &["商务", "咨询", "管理", "文化传媒", "广告"]),
    ("73", &["科技", "技术", "生物科技"]),
    ("74", &["设计", "检测", "工程", "技术"]),
    ("75", &["科技", "技术", "信息技术", "生物科技", "新能源"]),
    ("76", &["工程", "环保"]),
    ("77", &["环保", "环境", "园林", "绿化"]),
    ("78", &["市政", "园林", "物业"]),
    ("79", &["旅游"]),
    ("80", &["家政"]),
    ("81", &["维修", "修理"]),
    ("82", &["清洁", "保洁"]),
    ("83", &["教育", "培训"]),
    ("84", &["医疗", "健康"]),
    ("85", &["健康"]),
    ("86", &["文化", "传媒"]),
    ("87", &["影视", "文化传媒", "传媒"]),
    ("88", &["文化", "艺术"]),
    ("89", &["体育", "健身"]),
    ("90", &["娱乐", "文化", "旅游"]),
];

/// 行业 words by section (门类) for a division not in [`DIVISION_TRADES`].
#[rustfmt::skip]
pub(crate) const SECTION_TRADES: &[(&str, &[&str])] = &[
    ("A", &["农业"]), ("B", &["矿业"]), ("C", &["实业", "科技"]), ("D", &["能源"]),
    ("E", &["建筑工程"]), ("F", &["商贸"]), ("G", &["物流"]), ("H", &["餐饮"]),
    ("I", &["科技"]), ("J", &["投资"]), ("K", &["房地产"]), ("L", &["商务"]),
    ("M", &["科技"]), ("N", &["环保"]), ("O", &["家政"]), ("P", &["教育"]),
    ("Q", &["医疗"]), ("R", &["文化"]), ("S", &["服务"]), ("T", &["服务"]),
];

/// `trade.txt` words that occur in class names without naming the trade (`服务`, `制品`) or
/// by accident (`生物` in 再生物资); they are not taken from a class name.
#[rustfmt::skip]
pub(crate) const CLASS_WORD_STOPLIST: &[&str] = &[
    "批发", "零售", "服务", "其他", "制造", "生产", "加工", "活动", "管理", "专业", "开发",
    "技术", "销售", "经营", "企业", "市场", "处理", "下载", "合伙", "有限", "复合", "世界",
    "发展", "保护", "防护", "农民", "农村", "中心", "公司", "产品", "工业", "行业", "设备",
    "用品", "综合", "一般", "研究", "研发", "制品", "生物", "基础", "大型", "城市", "公共",
    "动物", "家用", "数字", "电话", "生活", "系统", "经济", "资源", "装备", "天然", "制作",
    "原料", "长途", "集成", "电路", "指导", "派遣", "代理", "家庭", "冷冻", "器材", "婚姻",
    "燃料", "卫生", "地理", "施工", "配送", "代办", "融资", "创业", "轨道交通", "金属",
];

/// 组织形式 of enterprises (and of a branch's parent), per 10,000.
pub(crate) const ENTERPRISE_FORMS: &[(&str, u32)] = &[
    ("有限公司", 8_500),
    ("有限责任公司", 1_200),
    ("股份有限公司", 300),
];

/// 组织形式 of individual businesses by class or division, then the default; every form is
/// in `suffix.txt`. A class form names the trade itself (超市, 乐器店), so it takes no 行业.
#[rustfmt::skip]
pub(crate) const INDIVIDUAL_CLASS_FORMS: &[(&str, &[&str])] = &[
    ("5212", &["超市"]), ("5213", &["便利店"]), ("5223", &["水果店", "商店"]),
    ("5232", &["服装店", "服饰店"]), ("5236", &["钟表店", "商店"]), ("5243", &["书店", "图书店"]),
    ("5245", &["珠宝店"]), ("5247", &["乐器店"]), ("5252", &["药房"]), ("5274", &["手机店"]),
    ("5283", &["家具店"]), ("5246", &["饰品店", "商店"]), ("6232", &["咖啡馆"]),
    ("6231", &["茶行", "馆"]), ("8040", &["美容店", "美容院", "美甲店", "工作室"]),
    ("8060", &["工作室"]), ("0143", &["花店", "种植场"]),
];
#[rustfmt::skip]
pub(crate) const INDIVIDUAL_DIVISION_FORMS: &[(&str, &[&str])] = &[
    ("52", &["商店", "商行", "经营部", "门市部", "店", "零售店"]),
    ("51", &["商行", "经营部", "批发商行", "经销部", "经销处"]),
    ("62", &["餐厅", "馆", "店", "坊"]), ("61", &["店", "馆"]),
    ("80", &["服务部", "工作室", "店"]), ("81", &["维修部", "维修店", "服务部"]),
    ("82", &["服务部", "服务站"]), ("01", &["种植场", "园艺场", "经营部"]),
    ("13", &["加工厂", "坊"]), ("14", &["加工厂", "坊", "食品店"]), ("18", &["服装厂", "加工厂"]),
    ("21", &["加工厂", "厂"]), ("33", &["加工厂", "厂"]), ("54", &["经营部", "服务部"]),
    ("60", &["服务部", "服务站"]), ("64", &["工作室", "服务部"]), ("65", &["工作室", "服务部"]),
    ("72", &["工作室", "服务部", "经营部"]), ("75", &["工作室", "服务部"]),
    ("83", &["工作室", "服务部"]), ("88", &["工作室", "服务部"]), ("89", &["馆", "工作室"]),
    ("90", &["馆", "服务部"]),
];
pub(crate) const INDIVIDUAL_DEFAULT_FORMS: &[&str] = &["经营部", "工作室", "服务部", "店"];

/// Registered capital in 万元: (amount, weight). A drawn amount is kept round 75 % of the
/// time; otherwise a whole number of 万元 below the next amount is drawn uniformly — a
/// lognormal-like spread with the round figures real registrations favour.
#[rustfmt::skip]
pub(crate) const ENTERPRISE_CAPITAL_WAN: &[(u32, u32)] = &[
    (10, 8), (20, 6), (30, 5), (50, 14), (100, 22), (200, 12), (300, 8), (500, 10),
    (1000, 7), (2000, 3), (3000, 2), (5000, 3),
];
#[rustfmt::skip]
pub(crate) const COOPERATIVE_CAPITAL_WAN: &[(u32, u32)] = &[
    (1, 3), (2, 3), (3, 3), (5, 8), (10, 15), (20, 15), (30, 10), (50, 12), (100, 14),
    (200, 7), (300, 4), (500, 6),
];

/// Establishment years with relative weights: the stock of living entities is young, as
/// registrations grew several-fold after the 2014 registration reform. 2026 runs to 31 Oct.
pub(crate) const fn year_weight(year: i32) -> u32 {
    match year {
        1995..=1999 => 1,
        2000..=2004 => 2,
        2005..=2009 => 3,
        2010..=2013 => 5,
        2014..=2017 => 8,
        2018..=2021 => 11,
        2022..=2025 => 12,
        2026 => 10,
        _ => 0,
    }
}
pub(crate) const FIRST_YEAR: i32 = 1995;
pub(crate) const LAST_YEAR: i32 = 2026;
/// `(year, weight)` for every year from [`FIRST_YEAR`] to [`LAST_YEAR`].
pub(crate) const YEARS: [(i32, u32); (LAST_YEAR - FIRST_YEAR + 1) as usize] = {
    let mut out = [(0, 0); (LAST_YEAR - FIRST_YEAR + 1) as usize];
    let mut i = 0;
    while i < out.len() {
        let y = FIRST_YEAR + i as i32;
        out[i] = (y, year_weight(y));
        i += 1;
    }
    out
};
/// The last establishment date: 2026-10-31 (month, day).
pub(crate) const LAST_DAY: (u32, u32) = (10, 31);

/// Road names: a first part and a kind (`经十路`, `人民大街`); with a share of directions.
#[rustfmt::skip]
pub(crate) const ROAD_PARTS: &[&str] = &[
    "经十", "解放", "和平", "人民", "建设", "文化", "花园", "新华", "胜利", "中山", "工业",
    "商业", "幸福", "振兴", "青年", "北园", "东风", "长江", "黄河", "泰山", "滨河", "府前",
    "兴华", "民主", "友谊", "光明", "育才", "金山", "朝阳", "丰收", "迎宾", "站前", "学府",
    "富民", "团结", "百花", "荣华", "顺河", "开元", "龙山",
];
pub(crate) const ROAD_KINDS: &[(&str, u32)] = &[("路", 70), ("街", 20), ("大道", 10)];
pub(crate) const ROAD_DIRECTIONS: &[&str] = &["东", "西", "南", "北", "中"];

/// The closing sentence of a business scope (经营范围).
pub(crate) const SCOPE_TAIL: &str = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）";

/// Cluster addresses (version 2): the number of sites per prefecture (济南 and 青岛 have
/// more), each in a different district.
pub(crate) const CLUSTER_SITES_HEAVY: usize = 3;
pub(crate) const CLUSTER_SITES: usize = 2;
/// The share of a hosting county's entities that register at its cluster site, per 10,000:
/// drawn per site between these bounds (mean 1.5 %, about 0.5 % of the province).
pub(crate) const CLUSTER_CHANCE: (u64, u64) = (80, 220);
/// The chance, per 10,000, that the first site of a prefecture other than 济南 and 青岛 is a
/// declared cluster-registration address (集群注册); the first sites of those two always are.
pub(crate) const CLUSTER_DECLARED: u64 = 3_334;
/// Cluster buildings: a name and what the place is (商务秘书, 孵化器, 众创空间, …). No
/// word here ends in a road, number or division marker, so the parser reads the building
/// as the place after the road number.
pub(crate) const CLUSTER_NAMES: &[&str] = &[
    "汇智", "云创", "启航", "众联", "创想", "聚英", "博润", "宏图", "智谷", "金桥", "新锐", "同创",
];
pub(crate) const CLUSTER_KINDS: &[&str] = &[
    "商务秘书服务中心",
    "创业孵化器",
    "众创空间",
    "集中办公中心",
    "电商孵化基地",
    "集群注册托管中心",
];
