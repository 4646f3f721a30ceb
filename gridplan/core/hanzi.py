"""Simplified characters of Chinese addresses and place names, with their traditional forms (繁体字).

A register exported in Big5 (or typed in traditional characters) writes 號樓, 棟, 單元, 區, 園 and 陽光花園 where
the scene says 号楼, 栋, 单元, 区, 园 and 阳光花园. :func:`gridplan.prepare.addresses.normalise` folds every traditional
form here to its simplified one, on both sides of a match, so that either writing names one building. The table
covers the address grammar, the generated scenarios' vocabulary, the names of the real extracts' buildings and
compounds that Big5 cannot write, and characters often met in place names; a character missing here stays as
written (a name in it then matches only by similarity). Several traditional characters may fold to one simplified
(鐘 and 鍾 to 钟): folding only ever joins spellings, never parts them.
"""

from __future__ import annotations

#: Pairs ``simplified traditional``: the traditional form a Big5 export writes for the character.
_PAIRS = """
专專 业業 东東 丝絲 两兩 临臨 为為 丽麗 乐樂 乡鄉 书書 亚亞 产產 仓倉 会會 储儲 兰蘭 关關 兴興 写寫 军軍 农農 凤鳳 凯凱 创創 别別 剧劇 办辦 务務 动動 区區 医醫 华華 协協 单單 卖賣 卫衛 厅廳
压壓 厕廁 厦廈 县縣 参參 发發 号號 团團 园園 国國 图圖 场場 处處 学學 宝寶 实實 宫宮 宾賓 寿壽 尔爾 层層 广廣 库庫 庙廟 废廢 开開 弃棄 态態 总總 恒恆 悦悅 戏戲 户戶 报報 无無 旧舊 时時 术術
杂雜 条條 来來 栋棟 桥橋 楼樓 残殘 汇匯 汉漢 沪滬 涛濤 润潤 滨濱 滩灘 灵靈 点點 烟煙 热熱 爱愛 狮獅 环環 珑瓏 电電 盘盤 矿礦 码碼 礼禮 级級 纪紀 纸紙 织織 经經 结結 统統 绣繡 绿綠 缩縮 罗羅
耸聳 职職 联聯 舰艦 艺藝 苏蘇 荣榮 药藥 营營 蓝藍 观觀 规規 视視 览覽 觞觴 计計 训訓 议議 设設 证證 读讀 财財 贤賢 货貨 购購 贸貿 资資 车車 轩軒 转轉 达達 运運 还還 远遠 连連 邮郵 钟鐘 钱錢
铁鐵 银銀 锁鎖 锦錦 镇鎮 长長 门門 间間 闵閔 阁閣 阅閱 阳陽 际際 陈陳 险險 隐隱 静靜 饭飯 饮飲 馆館 马馬 验驗 鱼魚 鲜鮮 鹂鸝 鹰鷹 黄黃 龙龍 湾灣 宁寧 庄莊 丰豐 岭嶺 沟溝 厂廠 圆圓 岛島 泽澤
鸿鴻 鹏鵬 伟偉 汤湯 阴陰 队隊 阶階 师師 渔漁 鸣鳴 荟薈 韵韻 颐頤 邻鄰 晓曉 义義 顺順 轮輪 铜銅 钢鋼 铺鋪 闸閘 闻聞 陆陸 纺紡 绵綿 缘緣 网網 邓鄧 郑鄭 刘劉 孙孫 杨楊 赵趙 吴吳 张張 苍蒼 赣贛
闽閩 粤粵 琼瓊 贵貴 辽遼 编編 纬緯 标標 话話 类類 数數 详詳 细細 现現 机機 贯貫 党黨 员員 预預 备備 强強 艳艷 刚剛 杰傑 坛壇 湿濕 浅淺 渐漸 边邊 过過 进進 这這 选選 适適 迁遷 庆慶 庐廬 应應
树樹 枫楓 栖棲 样樣 桦樺 梦夢 欢歡 气氣 沧滄 泾涇 浏瀏 浒滸 涟漣 渊淵 温溫 滚滾 满滿 潜潛 灯燈 炉爐 烧燒 焕煥 犹猶 玛瑪 玮瑋 琏璉 璎瓔 畅暢 疗療 盖蓋 监監 砖磚 础礎 硕碩 确確 种種 积積 称稱
稳穩 窝窩 筑築 简簡 纳納 纵縱 练練 组組 终終 绍紹 给給 络絡 维維 综綜 绪緒 续續 缆纜 罚罰 习習 闲閒 闹鬧 阀閥 阔闊 阵陣 陕陝 隶隸 难難 雏雛 飞飛 饰飾 驻駐 骏駿 鸟鳥 鹤鶴 齐齊 龟龜 厉厲 历歷
双雙 叶葉 吕呂 启啟 围圍 坝壩 块塊 坚堅 坞塢 垦墾 埚堝 墙牆 夹夾 奋奮 妇婦 娱娛 婴嬰 宪憲 宽寬 对對 导導 将將 尘塵 尽盡 属屬 岁歲 岗崗 峡峽 峦巒 帅帥 带帶 帮幫 干幹 并並 庞龐 异異 弯彎 录錄
径徑 御禦 忆憶 怀懷 恋戀 惊驚 愿願 扬揚 护護 择擇 拥擁 挂掛 据據 损損 换換 携攜 摄攝 敛斂 断斷 旷曠 昆崑 显顯 晋晉 朴樸 权權 极極 构構 枪槍 柜櫃 栅柵 栈棧 桩樁 档檔 检檢 椭橢 樱櫻 欧歐 毕畢
沈瀋 泪淚 泸瀘 洁潔 洒灑 浃浹 浆漿 济濟 浓濃 涌湧 涩澀 涡渦 涧澗 渌淥 渍漬 渗滲 溃潰 滞滯 滤濾 滦灤 澜瀾 灿燦 炼煉 烁爍 烂爛 烛燭 爷爺 牍牘 犊犢 状狀 狭狹 猎獵 献獻 玑璣 玺璽 琐瑣 瑶瑤 画畫
畴疇 疮瘡 痒癢 皑皚 盏盞 睐睞 矶磯 矾礬 砚硯 硷鹼 碍礙 祢禰 祯禎 离離 秃禿 秆稈 稣穌 窍竅 竖豎 竞競 笔筆 笋筍 筝箏 签簽 篮籃 粮糧 紧緊 累纍 纠糾 红紅 纤纖 约約 纯純 纱紗 线線 绅紳 绒絨 绕繞
绘繪 绝絕 绞絞 继繼 绩績 绫綾 绮綺 绳繩 缎緞 缓緩 缝縫 缤繽 罢罷 羡羨 翘翹 耻恥 聂聶 聪聰 肃肅 胜勝 胶膠 脉脈 脏臟 脑腦 舆輿 舱艙 节節 芦蘆 苇葦 苹蘋 范範 茎莖 茧繭 荐薦 荡蕩 荫蔭 莱萊 莲蓮
获獲 萝蘿 葱蔥 蒋蔣 蔷薔 蕴蘊 虏虜 虑慮 虫蟲 虾蝦 蚁蟻 蛮蠻 补補 装裝 见見 觉覺 誉譽 订訂 认認 讨討 让讓 记記 讲講 许許 论論 访訪 评評 识識 诉訴 诊診 词詞 试試 诗詩 询詢 语語 说說 请請 诸諸
课課 谊誼 谐諧 谢謝 贝貝 贞貞 负負 贡貢 责責 败敗 账賬 质質 贩販 贴貼 贺賀 贾賈 赏賞 赛賽 赞贊 赠贈 赢贏 趋趨 跃躍 践踐 轨軌 轴軸 轻輕 载載 较較 辉輝 辑輯 输輸 辖轄 辞辭 辩辯 迈邁 迟遲 迹跡
递遞 逻邏 遗遺 邝鄺 郁鬱 酝醞 酱醬 释釋 鉴鑒 针針 钓釣 钥鑰 钻鑽 铃鈴 铭銘 销銷 锅鍋 锋鋒 锡錫 键鍵 镜鏡 问問 闭閉 闯闖 闰閏 阐闡 阙闕 陇隴 随隨 雳靂 雾霧 靓靚 韦韋 韩韓 页頁 顶頂 项項 须須
顾顧 顿頓 颁頒 领領 频頻 题題 颜顏 额額 风風 飘飄 饱飽 饶饒 馈饋 驰馳 驱驅 驾駕 骄驕 骑騎 鸡雞 鸥鷗 鸳鴛 鸽鴿 鹅鵝 麦麥 黉黌 齿齒 龄齡
"""
#: Pairs ``traditional simplified`` of further traditional forms, folded only.
_FOLDED_ONLY = "鍾钟 彙汇 髮发 臺台 裡里 裏里 後后 麵面 復复 複复 餘余 雲云 曆历"

#: Simplified → traditional (the form Big5 writes), for the generated ``big5`` register.
TRADITIONAL: dict[str, str] = {pair[0]: pair[1] for pair in _PAIRS.split()}
#: Traditional → simplified, a table for :meth:`str.translate`.
SIMPLIFIED: dict[int, str] = {
    **{ord(t): s for s, t in TRADITIONAL.items()},
    **{ord(pair[0]): pair[1] for pair in _FOLDED_ONLY.split()},
}
