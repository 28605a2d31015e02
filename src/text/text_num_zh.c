/* text_num_zh.c — ConvertNumMode for Mandarin: Chinese numerals to Arabic digits, by context, and
 * conservatively (when a reading is uncertain, the text stays as it was).
 *
 * A numeral is a run of the characters 零〇一二三四五六七八九十百千万亿两幺, none of them inside
 * a guard word (see the list below: fixed words, idioms, names). Runs are read as:
 *   cardinal   with 十百千 under 万/亿, 零 between units, 两 before 百千万亿, and the spoken short
 *              form where a final digit takes the next lower unit: 一百二 = 120, 三万五 = 35000;
 *   digit string  digits only (幺 = 1 here): 幺三八 = 138, 二零二三 = 2023.
 * Mode 1 rules, tried in this order at each run:
 *   percent      百分之六点三 → 6.3%; 百分之五十 → 50%; 百分之百 → 100%; 千分之五 → 5‰
 *   fraction     三分之一 → 1/3; 二十分之三 → 3/20 (not 三十分之后: no numeral after 分之)
 *   decimal      六点三 → 6.3; 零点五 → 0.5; 十二点五万 → 12.5万 (fraction digits only, not before
 *                分 or 刻, not after a time word)
 *   time         十一点 → 11点; 十点二十 → 10点20; 三点十五分 → 3点15分; 三点零五分 → 3点05分;
 *                三点半 → 3点半; 下午三点 → 下午3点; 三点钟 → 3点钟 (hour 0-24, minutes 0-59); a
 *                one-character hour needs a time word before it (上午 下午 中午 晚上 凌晨 …; also
 *                今天 明天 … except for 一) or minutes, 半, 刻 or 钟 after it: 一点 ("a little")
 *                and 三点 ("three points") stay
 *   range        三四十 → 30~40; 五六百 → 500~600; 一两百 → 100~200; 三四万 → 3万~4万;
 *                十五六 → 15~16; 二十三四 → 23~24 (two neighbouring digits then a unit, or a
 *                number in 十 then two neighbouring digits); 三四个 stays (no unit: "three or four")
 *   date         二零二三年 → 2023年; 九八年 → 98年 (two digits before 年, unless neighbours like 三四);
 *                三月五日 → 3月5日; 2023年三月 → 2023年3月 (a month needs a day after it or a year
 *                before it); 十二月二十五号 → 12月25号. 星期一, 周三, 礼拜天 stay (guards).
 *   money        三块五 → 3块5; 三块五毛 → 3块5毛; 五元 → 5元; 八公斤 → 8公斤; 两公里 → 2公里 (a
 *                lone digit converts before a currency or metric unit: 元 块钱 毛钱 美元 欧元 英镑
 *                日元 港元 港币 人民币 公里 千米 厘米 毫米 公斤 千克 毫升 平方米 平米 立方米 摄氏度)
 *   cardinal     two or more characters: 二十五 → 25; 一百零五 → 105; 两千 → 2000; 三万 → 3万;
 *                三十五万 → 35万; 一万二 → 12000; 一亿五千万 → 1亿5000万; 负三十 → -30
 *   digit string three or more digits: 幺三八幺二三四五六七八 → 13812345678; 三零五房间 → 305房间
 * Guards, mode 1:
 *   - a lone single character stays: 三个人, 一次, 第一, 十分, 两个, 零售价, 五号, 十月 (unless one of
 *     the contexts above: 百分之五, 三点五, 三月五日, 五元 …);
 *   - a run touching a guard word's numeral stays whole: 三十一起案件 (一起) stays, not 30一起;
 *   - approximations stay: 几十万, 数十万, 好几十, 二十几岁, 三四个, 七八个;
 *   - a run starting with a bare 百千万亿 stays: 千万, 万一, 百万, 亿万;
 *   - runs that read neither way stay: 九九八十一, 一五一十 (also a guard); two digits stay
 *     (一一列举, 三五) except as a year; 十一二 is read as a range;
 *   - guard words (idioms, fixed words, names): 一起 一下 一般 一定 一样 统一 唯一 星期一 周一
 *     四舍五入 三心二意 一五一十 乱七八糟 七上八下 三三两两 十之八九 万一 张三 李四 二百五 …
 * Mode 3 adds math words between numbers (operands convert even when lone): 加 + 减 - 乘/乘以 ×
 *   除以 ÷ 等于 = 大于 > 小于 < 大于等于 ≥ 小于等于 ≤ 不等于 ≠ 约等于 ≈ 比 : ; 负 before a number
 *   -; 根号 before a number √; 的平方 ², 的立方 ³ and 的N次方 ^N after one:
 *   三加五等于八 → 3+5=8; 二的三次方 → 2^3; 根号二 → √2; 负五 → -5. */
#include "text/text_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUN 24               /* longer runs are left alone */
#define MAX_VALUE 1000000000000000000LL

/* ---- guard words ---- */

static const char *const guards[] = {
    /* fixed words starting or ending with a numeral character */
    "一起", "一下", "一般", "一定", "一样", "一些", "一直", "一切", "一边", "一共", "一致", "一旦",
    "一向", "一律", "一再", "一同", "一道", "一齐", "一并", "一面", "一时", "一阵", "一番", "一会",
    "一点点", "一点儿", "一如", "一口气", "一路", "一生", "一心", "一流", "一贯", "一概", "一味",
    "一瞬", "一带", "一体", "一手", "一早", "一度", "一切", "一句话", "一辈子", "一模一样", "一起",
    "一方面", "一方", "一则", "一经", "一贯", "一律", "一来", "一去", "一转眼", "一连", "一身",
    "一流", "一窝蜂", "一刹那", "一溜烟", "一把手", "一级棒", "一头雾水", "一会儿", "一下子",
    "统一", "唯一", "万一", "单一", "同一", "专一", "不一", "合一", "归一", "划一",
    "千千万万", "成千上万", "成千成万",
    "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日", "星期天",
    "周一", "周二", "周三", "周四", "周五", "周六", "周日",
    "礼拜一", "礼拜二", "礼拜三", "礼拜四", "礼拜五", "礼拜六", "礼拜日", "礼拜天",
    "初一", "初二", "初三", "初十", "高一", "高二", "高三",
    "零售", "零售价", "零下", "零食", "零钱", "零件", "零部件", "零星", "零散", "零碎", "零花",
    "零用", "零头", "零工", "一点都", "一点也", "有一点",
    "一元化", "一元论", "二元论", "二元对立", "多元", "一元复始",
    "二手", "二话", "二胡", "二维码", "二氧化碳", "三明治", "三角", "四川", "五金", "八卦", "九州",
    "负担", "胜负", "抱负", "欺负", "辜负", "自负", "背负", "肩负", "重负", "正负",
    "一元一次", "一元二次", "二元一次", "二元二次", "三元一次",
    /* idioms and set phrases */
    "四舍五入", "三心二意", "一五一十", "乱七八糟", "七上八下", "七嘴八舌", "七零八落", "三三两两",
    "七七八八", "十之八九", "八九不离十", "九九八十一", "三七二十一", "一心一意", "十全十美",
    "一清二楚", "一干二净", "一穷二白", "接二连三", "不三不四", "说一不二", "独一无二", "三番五次",
    "三言两语", "三五成群", "五湖四海", "四面八方", "九牛一毛", "九霄云外", "十万火急", "万无一失",
    "一石二鸟", "一举两得", "两全其美", "一刀两断", "三十而立", "四十不惑", "五十而知天命",
    "五十步笑百步", "百分百", "一千零一夜", "一点一滴", "一点一点", "两点一线", "三点一线",
    "一针见血", "一目十行", "一日千里", "一日三秋", "一年半载", "三天两头", "三长两短", "千方百计",
    "百里挑一", "一波三折", "一唱一和", "一来二去", "一朝一夕", "五颜六色", "五花八门", "六神无主",
    "七情六欲", "九死一生", "十拿九稳", "一分为二", "二话不说", "一言为定", "百发百中", "千变万化",
    "一二三四五六七",
    /* names and nicknames */
    "张三", "李四", "王五", "赵六", "王二", "小二", "店小二", "老三", "老二", "二百五", "十三点",
};

const char *const *tx_num_zh_guards(size_t *n)
{
    *n = sizeof guards / sizeof guards[0];
    return guards;
}

/* ---- characters ---- */

#define CP_LING 0x96F6u   /* 零 */
#define CP_LING2 0x3007u  /* 〇 */
#define CP_LIANG 0x4E24u  /* 两 */
#define CP_YAO 0x5E7Au    /* 幺 */
#define CP_SHI 0x5341u    /* 十 */
#define CP_BAI 0x767Eu    /* 百 */
#define CP_QIAN 0x5343u   /* 千 */
#define CP_WAN 0x4E07u    /* 万 */
#define CP_YI 0x4EBFu     /* 亿 */
#define CP_DIAN 0x70B9u   /* 点 */
#define CP_SHI2 0x65F6u   /* 时 */
#define CP_FEN 0x5206u    /* 分 */
#define CP_ZHI 0x4E4Bu    /* 之 */
#define CP_NIAN 0x5E74u   /* 年 */
#define CP_YUE 0x6708u    /* 月 */
#define CP_RI 0x65E5u     /* 日 */
#define CP_HAO 0x53F7u    /* 号 */
#define CP_KUAI 0x5757u   /* 块 */
#define CP_FU 0x8D1Fu     /* 负 */
#define CP_JI 0x51E0u     /* 几 */
#define CP_SHU 0x6570u    /* 数 */
#define CP_BAN 0x534Au    /* 半 */
#define CP_KE 0x523Bu     /* 刻 */
#define CP_ZHONG 0x949Fu  /* 钟 */
#define CP_MAO 0x6BDBu    /* 毛 */
#define CP_JIAO 0x89D2u   /* 角 */
#define CP_QIAN2 0x94B1u  /* 钱 */

/* 0-9 for the digits (零〇 0, 幺 1 in digit strings, 两 2 in cardinals), -1 otherwise. */
static int digit_value(uint32_t cp)
{
    static const uint32_t digits[10] = {0x96F6, 0x4E00, 0x4E8C, 0x4E09, 0x56DB,
                                        0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D};
    for (int d = 0; d < 10; d++)
        if (digits[d] == cp)
            return d;
    if (cp == CP_LING2)
        return 0;
    if (cp == CP_LIANG)
        return 2;
    if (cp == CP_YAO)
        return 1;
    return -1;
}

static int64_t unit_value(uint32_t cp)
{
    switch (cp) {
    case CP_SHI: return 10;
    case CP_BAI: return 100;
    case CP_QIAN: return 1000;
    case CP_WAN: return 10000;
    case CP_YI: return 100000000;
    default: return 0;
    }
}

static bool numeral_cp(uint32_t cp)
{
    return digit_value(cp) >= 0 || unit_value(cp) > 0;
}

/* The numeral character at piece i, 0 when there is none (or it is guarded). */
static uint32_t num_at(const tx_seq *s, size_t i)
{
    if (i >= s->n || s->p[i].kind != TK_HAN || (s->p[i].flags & TF_PROTECTED))
        return 0;
    return numeral_cp(s->p[i].cp) ? s->p[i].cp : 0;
}

static bool guarded_numeral_at(const tx_seq *s, size_t i)
{
    return i < s->n && s->p[i].kind == TK_HAN && (s->p[i].flags & TF_PROTECTED) && numeral_cp(s->p[i].cp);
}

static size_t run_end(const tx_seq *s, size_t a)
{
    while (num_at(s, a))
        a++;
    return a;
}

/* ---- reading a run ---- */

typedef struct zh_value {
    int64_t v;
    bool wan, yi;     /* written with 万 / 亿: kept in the output when the value ends there */
} zh_value;

typedef struct card_state {
    int64_t total, section, last_unit, last_big;
    int digit;         /* pending digit, -1 none */
    bool zero;         /* 零 since the last unit */
    bool any;          /* something read */
} card_state;

static bool card_digit(card_state *st, uint32_t cp, uint32_t next)
{
    int d = digit_value(cp);
    if (cp == CP_YAO)
        return false;
    if (d == 0) {
        if (!st->any || st->digit >= 0)
            return false;
        st->zero = true;
        return true;
    }
    if (st->digit >= 0)
        return false;
    if (cp == CP_LIANG && unit_value(next) < 100)
        return false;
    st->digit = d;
    return true;
}

static bool card_small_unit(card_state *st, int64_t u)
{
    if (st->digit < 0) {
        if (u != 10 || (st->any && !st->zero))
            return false;
        st->digit = 1;
    }
    if (st->last_unit != 0 && u >= st->last_unit)
        return false;
    st->section += st->digit * u;
    st->last_unit = u;
    st->digit = -1;
    st->zero = false;
    return true;
}

static bool card_big_unit(card_state *st, int64_t big)
{
    if (st->digit >= 0)
        st->section += st->digit;
    st->digit = -1;
    if (st->zero && st->section == 0)
        return false;
    if (st->section == 0) {
        if (st->last_big == 0 || st->last_big >= big)
            return false;      /* 万一, 万万 */
        st->total *= big;      /* 万亿 */
    } else if (st->last_big == 0 || big > st->last_big) {
        if (st->total + st->section > MAX_VALUE / big)
            return false;
        st->total = (st->total + st->section) * big;
    } else if (big < st->last_big) {
        st->total += st->section * big;
    } else {
        return false;
    }
    st->last_big = big;
    st->section = 0;
    st->last_unit = 0;
    st->zero = false;
    return true;
}

static bool parse_cardinal(const uint32_t *c, size_t n, zh_value *out)
{
    card_state st = {.digit = -1};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        int64_t u = unit_value(c[i]);
        bool ok = u == 0 ? card_digit(&st, c[i], i + 1 < n ? c[i + 1] : 0)
                         : u < 10000 ? card_small_unit(&st, u) : card_big_unit(&st, u);
        if (!ok)
            return false;
        out->wan |= u == 10000;
        out->yi |= u == 100000000;
        st.any = true;
    }
    if (st.zero && st.digit < 0)
        return false;              /* a trailing 零 */
    if (st.digit >= 0) {
        int64_t below = st.last_unit ? st.last_unit : st.last_big;
        st.section += st.digit * (st.zero || below == 0 ? 1 : below / 10);
    }
    out->v = st.total + st.section;
    return st.total + st.section <= MAX_VALUE;
}

/* Digits only (幺 allowed, 两 not): writes them to out (n + 1 bytes). */
static bool digit_string(const uint32_t *c, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        int d = digit_value(c[i]);
        if (d < 0 || c[i] == CP_LIANG)
            return false;
        out[i] = (char)('0' + d);
    }
    out[n] = '\0';
    return n > 0;
}

static void format_value(const zh_value *v, char *out, size_t cap)
{
    const int64_t yi = 100000000, wan = 10000;
    if (v->yi && v->v % yi == 0)
        snprintf(out, cap, "%" PRId64 "亿", v->v / yi);
    else if (v->yi && v->v % wan == 0 && v->v > yi)
        snprintf(out, cap, "%" PRId64 "亿%" PRId64 "万", v->v / yi, (v->v % yi) / wan);
    else if ((v->wan || v->yi) && v->v % wan == 0)
        snprintf(out, cap, "%" PRId64 "万", v->v / wan);
    else
        snprintf(out, cap, "%" PRId64, v->v);
}

/* ---- the scan: replacements recorded against the unchanged sequence ---- */

typedef struct zh_ctx {
    const tx_seq *s;
    tx_ops ops;
} zh_ctx;

static void add_op(zh_ctx *c, size_t from, size_t to, const char *text)
{
    tx_ops_add(&c->ops, from, to, text);
}

/* The run's characters into cps (false when longer than MAX_RUN). */
static bool run_cps(const tx_seq *s, size_t a, size_t b, uint32_t *cps)
{
    if (b - a > MAX_RUN)
        return false;
    for (size_t i = a; i < b; i++)
        cps[i - a] = s->p[i].cp;
    return true;
}

/* The value of run [a, b): cardinals, a lone 零 (0) or 两 (2). */
static bool run_value(const tx_seq *s, size_t a, size_t b, zh_value *v)
{
    uint32_t cps[MAX_RUN];
    if (b <= a || !run_cps(s, a, b, cps))
        return false;
    if (b - a == 1 && (digit_value(cps[0]) == 0 || cps[0] == CP_LIANG)) {
        *v = (zh_value){.v = digit_value(cps[0])};
        return true;
    }
    return parse_cardinal(cps, b - a, v);
}

/* Days: a time context for hours of two and more, not for 一 (今天一点意思都没有). */
static bool is_day_word_before(const tx_seq *s, size_t a)
{
    static const char *const words[] = {"今天", "明天", "昨天", "后天", "前天", "每天"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (tx_word_before(s, a, words[i]))
            return true;
    return false;
}

static bool is_time_word_before(const tx_seq *s, size_t a)
{
    static const char *const words[] = {"上午", "下午", "中午", "晚上", "早上", "凌晨", "傍晚", "夜里",
                                        "半夜", "今晚", "明晚", "昨晚", "早晨", "清晨", "深夜", "午夜"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (tx_word_before(s, a, words[i]))
            return true;
    return false;
}

static size_t unit_after(const tx_seq *s, size_t b)
{
    static const char *const units[] = {"元", "块钱", "毛钱", "角钱", "美元", "欧元", "英镑", "日元",
                                        "港元", "港币", "人民币", "美金", "公里", "千米", "厘米",
                                        "毫米", "公斤", "千克", "毫升", "平方米", "平米", "立方米",
                                        "摄氏度"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (tx_word_at(s, b, units[i]))
            return 1;
    return 0;
}

static bool strong_run(const tx_seq *s, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (s->p[i].flags & TF_STRONG)
            return true;
    return false;
}

/* 负 right before a, free to be read as a minus sign. */
static bool minus_before(const tx_seq *s, size_t a)
{
    return a > 0 && s->p[a - 1].kind == TK_HAN && s->p[a - 1].cp == CP_FU &&
           !(s->p[a - 1].flags & TF_PROTECTED);
}

static void add_number_op(zh_ctx *c, size_t a, size_t b, const char *digits)
{
    if (minus_before(c->s, a)) {
        char neg[64];
        snprintf(neg, sizeof neg, "-%s", digits);
        add_op(c, a - 1, b, neg);
    } else {
        add_op(c, a, b, digits);
    }
}

/* 百分之 / 千分之 + number. Returns the index after what it consumed, 0 when it does not apply. */
static size_t read_decimal(const tx_seq *s, size_t a, char *out, size_t cap);

static size_t try_percent(zh_ctx *c, size_t i)
{
    const tx_seq *s = c->s;
    bool per100 = tx_word_at(s, i, "百分之"), per1000 = tx_word_at(s, i, "千分之");
    if ((!per100 && !per1000) || (s->p[i].flags & TF_PROTECTED) || (i > 0 && num_at(s, i - 1)))
        return 0;
    size_t a = i + 3;
    char num[64], text[80];
    size_t end = read_decimal(s, a, num, sizeof num);
    if (end == 0 && per100 && num_at(s, a) == CP_BAI && !num_at(s, a + 1)) {
        snprintf(num, sizeof num, "100");
        end = a + 1;
    }
    if (end == 0)
        return 0;
    snprintf(text, sizeof text, "%s%s", num, per100 ? "%" : "‰");
    add_op(c, i, end, text);
    return end;
}

/* Fraction digits after 点 at p: [p, *end) all digits (a final 万/亿 allowed, stored in *suffix). */
static bool fraction_digits(const tx_seq *s, size_t p, size_t q, char *out, size_t cap, uint32_t *suffix)
{
    *suffix = 0;
    if (q > p && (s->p[q - 1].cp == CP_WAN || s->p[q - 1].cp == CP_YI)) {
        *suffix = s->p[q - 1].cp;
        q--;
    }
    uint32_t cps[MAX_RUN];
    if (q <= p || q - p + 1 > cap || !run_cps(s, p, q, cps))
        return false;
    return digit_string(cps, q - p, out);
}

/* A number, maybe with a decimal part, at a: its text in out; returns the end, 0 if none. */
static size_t read_decimal(const tx_seq *s, size_t a, char *out, size_t cap)
{
    size_t b = run_end(s, a);
    zh_value v;
    if (b == a || !run_value(s, a, b, &v))
        return 0;
    if (tx_is_char(s, b, CP_DIAN)) {
        size_t q = run_end(s, b + 1);
        char frac[MAX_RUN + 1];
        uint32_t suffix;
        if (q > b + 1 && fraction_digits(s, b + 1, q, frac, sizeof frac, &suffix) && !v.wan && !v.yi) {
            char su[8] = "";
            if (suffix)
                su[tx_encode(suffix, su)] = '\0';
            snprintf(out, cap, "%" PRId64 ".%s%s", v.v, frac, su);
            return q;
        }
    }
    format_value(&v, out, cap);
    return b;
}

static bool fraction_at(zh_ctx *c, size_t a, size_t b, size_t *end)
{
    const tx_seq *s = c->s;
    if (!tx_word_at(s, b, "分之") || !num_at(s, b + 2))
        return false;
    size_t d = run_end(s, b + 2);
    zh_value den, num;
    if (!run_value(s, a, b, &den) || !run_value(s, b + 2, d, &num) || den.v == 0)
        return false;
    char text[64];
    snprintf(text, sizeof text, "%" PRId64 "/%" PRId64, num.v, den.v);
    add_number_op(c, a, d, text);
    *end = d;
    return true;
}

/* Minutes after 点 (run [p, q)): 0-59; "05" when written with 零. */
static bool minutes(const tx_seq *s, size_t p, size_t q, char *out, size_t cap)
{
    zh_value v;
    uint32_t cps[MAX_RUN];
    if (q - p == 2 && run_cps(s, p, q, cps) && digit_value(cps[0]) == 0 && cps[1] != CP_LIANG &&
        digit_value(cps[1]) > 0) {
        snprintf(out, cap, "0%d", digit_value(cps[1]));
        return true;
    }
    if (!run_value(s, p, q, &v) || v.v > 59 || v.wan || v.yi)
        return false;
    snprintf(out, cap, "%" PRId64, v.v);
    return true;
}

static bool hour_value(const tx_seq *s, size_t a, size_t b, zh_value *v)
{
    return run_value(s, a, b, v) && v->v <= 24 && !v->wan && !v->yi;
}

/* R 点 F: a decimal or a time. */
static bool point_at(zh_ctx *c, size_t a, size_t b, size_t *end)
{
    const tx_seq *s = c->s;
    bool dian = tx_is_char(s, b, CP_DIAN);
    if (!dian && !tx_is_char(s, b, CP_SHI2))
        return false;
    bool time_word = is_time_word_before(s, a) ||
                     (is_day_word_before(s, a) && !(b == a + 1 && digit_value(s->p[a].cp) == 1));
    size_t p = b + 1, q = run_end(s, p);
    zh_value h;
    char hour[32], mins[32], frac[MAX_RUN + 1];
    uint32_t suffix;
    bool fen_after = q > p && tx_is_char(s, q, CP_FEN) && !tx_is_char(s, q + 1, CP_ZHI);
    bool ke_after = q > p && tx_is_char(s, q, CP_KE);
    if (dian && q > p && !fen_after && !ke_after && !time_word &&
        fraction_digits(s, p, q, frac, sizeof frac, &suffix)) {
        char text[80];
        if (read_decimal(s, a, text, sizeof text) == q) {
            add_number_op(c, a, q, text);
            *end = q;
            return true;
        }
        return false;
    }
    if (!hour_value(s, a, b, &h))
        return false;
    snprintf(hour, sizeof hour, "%" PRId64, h.v);
    if (q > p && !ke_after && minutes(s, p, q, mins, sizeof mins)) {
        add_op(c, a, b, hour);
        add_op(c, p, q, mins);
        *end = q;
        return true;
    }
    bool marked = tx_is_char(s, p, CP_BAN) || tx_is_char(s, p, CP_ZHONG) || ke_after;
    if (b - a >= 2 || time_word || marked) {
        add_op(c, a, b, hour);
        *end = b + 1;
        return true;
    }
    return false;
}

/* Two neighbouring digits: 三四, 一两, 两三. */
static bool neighbours(uint32_t x, uint32_t y)
{
    int dx = digit_value(x), dy = digit_value(y);
    if (x == CP_YAO || y == CP_YAO || dx <= 0 || dy <= 0)
        return false;
    if (x == CP_LIANG)
        return y == 0x4E09;                     /* 两三 */
    if (y == CP_LIANG)
        return x == 0x4E00;                     /* 一两 */
    return dy == dx + 1;
}

static bool range_at(zh_ctx *c, size_t a, size_t b)
{
    uint32_t cps[MAX_RUN + 1], one[MAX_RUN + 1];
    size_t n = b - a;
    if (n < 3 || !run_cps(c->s, a, b, cps))
        return false;
    /* find the pair: at the start (三四十) or after a number in 十 (二十三四) */
    size_t k = neighbours(cps[0], cps[1]) && unit_value(cps[2]) ? 0
             : (n >= 3 && cps[n - 3] == CP_SHI && neighbours(cps[n - 2], cps[n - 1])) ? n - 2 : SIZE_MAX;
    if (k == SIZE_MAX)
        return false;
    zh_value lo, hi;
    memcpy(one, cps, k * sizeof *one);
    memcpy(one + k + 1, cps + k + 2, (n - k - 2) * sizeof *one);
    one[k] = cps[k];
    if (!parse_cardinal(one, n - 1, &lo))
        return false;
    one[k] = cps[k + 1] == CP_LIANG ? 0x4E8C : cps[k + 1];
    if (!parse_cardinal(one, n - 1, &hi))
        return false;
    char x[48], y[48], text[100];
    format_value(&lo, x, sizeof x);
    format_value(&hi, y, sizeof y);
    snprintf(text, sizeof text, "%s~%s", x, y);
    add_op(c, a, b, text);
    return true;
}

/* The value of the number that ends right before piece e (Chinese run or ASCII digits), -1 none. */
static int64_t value_ending_at(const tx_seq *s, size_t e)
{
    if (e == 0)
        return -1;
    if (s->p[e - 1].kind == TK_DIGITS && s->p[e - 1].len <= 9)
        return strtoll(tx_text(s, e - 1), NULL, 10);
    size_t a = e;
    while (a > 0 && num_at(s, a - 1))
        a--;
    zh_value v;
    return a < e && run_value(s, a, e, &v) ? v.v : -1;
}

static bool month_day_at(zh_ctx *c, size_t a, size_t b, const zh_value *v)
{
    const tx_seq *s = c->s;
    if (tx_is_char(s, b, CP_YUE) && v->v >= 1 && v->v <= 12) {
        size_t d = run_end(s, b + 1);
        zh_value day;
        bool day_after = d > b + 1 && run_value(s, b + 1, d, &day) && day.v >= 1 && day.v <= 31 &&
                         (tx_is_char(s, d, CP_RI) || tx_is_char(s, d, CP_HAO));
        bool year_before = a > 0 && tx_is_char(s, a - 1, CP_NIAN) && value_ending_at(s, a - 1) >= 0;
        return day_after || year_before;
    }
    if ((tx_is_char(s, b, CP_RI) || tx_is_char(s, b, CP_HAO)) && v->v >= 1 && v->v <= 31 && a > 0 &&
        tx_is_char(s, a - 1, CP_YUE)) {
        int64_t month = value_ending_at(s, a - 1);
        return month >= 1 && month <= 12;
    }
    return false;
}

/* 三块五(毛): the digit after 块 is the jiao. */
static bool money_at(zh_ctx *c, size_t a, size_t b, size_t *end)
{
    const tx_seq *s = c->s;
    zh_value yuan;
    if (!tx_is_char(s, b, CP_KUAI) || run_end(s, b + 1) != b + 2 || !run_value(s, a, b, &yuan))
        return false;
    int d = digit_value(s->p[b + 1].cp);
    size_t after = b + 2;
    bool closed = after >= s->n || s->p[after].kind == TK_PUNCT || s->p[after].kind == TK_SPACE ||
                  tx_is_char(s, after, CP_MAO) || tx_is_char(s, after, CP_JIAO) || tx_is_char(s, after, CP_QIAN2);
    if (d <= 0 || s->p[b + 1].cp == CP_YAO || s->p[b + 1].cp == CP_LIANG || !closed)
        return false;
    char y[48], j[4] = {(char)('0' + d), 0};
    format_value(&yuan, y, sizeof y);
    add_number_op(c, a, b, y);
    add_op(c, b + 1, b + 2, j);
    *end = b + 2;
    return true;
}

/* Two digits that are not neighbours (九八, 零八), or three and more: a digit string to keep. */
static bool year_digits(const uint32_t *cps, size_t n)
{
    return n >= 3 || (n == 2 && !neighbours(cps[0], cps[1]) && cps[0] != CP_LIANG && cps[1] != CP_LIANG);
}

static bool approximate(const tx_seq *s, size_t a, size_t b)
{
    bool before = a > 0 && s->p[a - 1].kind == TK_HAN &&
                  (s->p[a - 1].cp == CP_JI || s->p[a - 1].cp == CP_SHU);
    return before || tx_is_char(s, b, CP_JI);
}

/* Plain numbers: cardinals of two or more characters, digit strings of three or more, lone ones
 * in strong contexts. */
static bool plain_at(zh_ctx *c, size_t a, size_t b)
{
    const tx_seq *s = c->s;
    uint32_t cps[MAX_RUN];
    char text[64];
    zh_value v;
    size_t n = b - a;
    if (!run_cps(s, a, b, cps))
        return false;
    bool cardinal = run_value(s, a, b, &v);
    bool strong = strong_run(s, a, b) || unit_after(s, b) || (cardinal && month_day_at(c, a, b, &v));
    if (cardinal && (n >= 2 || strong)) {
        format_value(&v, text, sizeof text);
        add_number_op(c, a, b, text);
        return true;
    }
    bool year = tx_is_char(s, b, CP_NIAN) && year_digits(cps, n);
    if (digit_string(cps, n, text) && (n >= 3 || (n == 2 && year))) {
        add_op(c, a, b, text);
        return true;
    }
    return false;
}

/* Reads the run starting at a; returns where the scan goes on. */
static size_t convert_run(zh_ctx *c, size_t a)
{
    const tx_seq *s = c->s;
    size_t b = run_end(s, a), end = b;
    if ((a > 0 && guarded_numeral_at(s, a - 1)) || guarded_numeral_at(s, b) || approximate(s, a, b))
        return b;
    if (fraction_at(c, a, b, &end) || point_at(c, a, b, &end) || money_at(c, a, b, &end))
        return end;
    if (!range_at(c, a, b))
        plain_at(c, a, b);
    return b;
}

/* ---- mode 3: math words ---- */

typedef struct math_word {
    const char *word, *symbol;
} math_word;

/* Longest first where one is a prefix of another. */
static const math_word operators[] = {
    {"大于等于", "≥"}, {"小于等于", "≤"}, {"不等于", "≠"}, {"约等于", "≈"}, {"乘以", "×"}, {"除以", "÷"},
    {"等于", "="}, {"大于", ">"}, {"小于", "<"}, {"加", "+"}, {"减", "-"}, {"乘", "×"}, {"比", ":"},
};

static size_t word_chars(const char *w)
{
    size_t n = 0;
    for (const char *p = w; *p; p++)
        n += ((unsigned char)*p & 0xC0) != 0x80;
    return n;
}

static bool operand_end_at(const tx_seq *s, size_t i)      /* a number ends at piece i */
{
    return i < s->n && (num_at(s, i) || s->p[i].kind == TK_DIGITS || (s->p[i].flags & TF_NUMBER));
}

static bool operand_start_at(const tx_seq *s, size_t i)
{
    return operand_end_at(s, i) || (tx_is_char(s, i, CP_FU) && operand_end_at(s, i + 1));
}

static const math_word *operator_at(const tx_seq *s, size_t i)
{
    for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++)
        if (tx_word_at(s, i, operators[k].word))
            return &operators[k];
    return NULL;
}

static void mark_strong_run(tx_seq *s, size_t i, int dir)
{
    while (i < s->n && num_at(s, i)) {
        s->p[i].flags |= TF_STRONG;
        if (dir < 0 && i == 0)
            break;
        i = dir < 0 ? i - 1 : i + 1;
    }
}

/* Marks the operands of math words (and of 负, 根号, 的N次方) so that lone digits convert. */
static void mark_math_operands(tx_seq *s)
{
    for (size_t i = 1; i < s->n; i++) {
        const math_word *op = operator_at(s, i);
        if (op && operand_end_at(s, i - 1)) {
            size_t r = i + word_chars(op->word);
            if (operand_start_at(s, r)) {
                mark_strong_run(s, i - 1, -1);
                mark_strong_run(s, tx_is_char(s, r, CP_FU) ? r + 1 : r, +1);
            }
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        if ((tx_is_char(s, i, CP_FU) && !(s->p[i].flags & TF_PROTECTED)) || tx_word_at(s, i, "根号"))
            mark_strong_run(s, i + (tx_is_char(s, i, CP_FU) ? 1 : 2), +1);
        if (i > 0 && tx_is_char(s, i, 0x7684 /*的*/) && operand_end_at(s, i - 1) &&
            (tx_word_at(s, i + 1, "平方") || tx_word_at(s, i + 1, "立方") ||
             (num_at(s, i + 1) && tx_word_at(s, run_end(s, i + 1), "次方")))) {
            mark_strong_run(s, i - 1, -1);
            mark_strong_run(s, i + 1, +1);
        }
    }
}

/* After conversion: math words between numbers become symbols. */
static void replace_math_words(tx_seq *s)
{
    zh_ctx c = {.s = s};
    tx_ops_init(&c.ops);
    for (size_t i = 1; i < s->n; i++) {
        const math_word *op = operator_at(s, i);
        size_t w = op ? word_chars(op->word) : 0;
        bool number_before = s->p[i - 1].kind == TK_DIGITS || (s->p[i - 1].flags & TF_NUMBER);
        if (op && number_before && i + w < s->n &&
            (s->p[i + w].kind == TK_DIGITS || (s->p[i + w].flags & TF_NUMBER))) {
            add_op(&c, i, i + w, op->symbol);
            i += w - 1;
        } else if (number_before && tx_word_at(s, i, "的平方")) {
            add_op(&c, i, i + 3, "²");
        } else if (number_before && tx_word_at(s, i, "的立方")) {
            add_op(&c, i, i + 3, "³");
        } else if (number_before && tx_is_char(s, i, 0x7684) && i + 1 < s->n &&
                   (s->p[i + 1].flags & TF_NUMBER) && tx_word_at(s, i + 2, "次方")) {
            add_op(&c, i, i + 1, "^");
            add_op(&c, i + 2, i + 4, "");
            i += 3;
        } else if (tx_word_at(s, i - 1, "根号") && i + 1 < s->n && (s->p[i + 1].flags & TF_NUMBER)) {
            add_op(&c, i - 1, i + 1, "√");
        }
    }
    tx_ops_apply(s, &c.ops);
}

void tx_num_zh(tx_seq *s, int mode)
{
    if (mode == 3)
        mark_math_operands(s);
    zh_ctx c = {.s = s};
    tx_ops_init(&c.ops);
    for (size_t i = 0; i < s->n;) {
        size_t next = try_percent(&c, i);
        if (next == 0)
            next = num_at(s, i) ? convert_run(&c, i) : i + 1;
        i = next > i ? next : i + 1;
    }
    tx_ops_apply(s, &c.ops);
    if (mode == 3)
        replace_math_words(s);
}
