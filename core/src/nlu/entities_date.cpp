// Date extraction: relative words, weekdays, month names, numeric and Chinese dates.
#include <array>
#include <cstdio>

#include "entities_detail.hpp"

namespace teller::nlu::detail {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// TODO(teller): month-name and 月日 dates without a year take the reference year (no guess
// towards the future), and times of day, "next month", "下个月5号", "the 5th" and
// "end of month" are not read, so such dates reach skills only as text.

// "in 99999 days" is not a date anyone means.
constexpr std::uint64_t kMaxOffsetDays = 3660;

struct Word {
    std::u32string_view word;
    int value;
};

constexpr std::array kWeekdays{
    Word{U"monday", 1}, Word{U"tuesday", 2},  Word{U"wednesday", 3}, Word{U"thursday", 4},
    Word{U"friday", 5}, Word{U"saturday", 6}, Word{U"sunday", 7},
};
// Short forms read only after next/this/last/on: "sat", "sun" and "wed" are also words.
constexpr std::array kWeekdayShort{
    Word{U"mon", 1},  Word{U"tue", 2},   Word{U"tues", 2}, Word{U"wed", 3}, Word{U"thu", 4},
    Word{U"thur", 4}, Word{U"thurs", 4}, Word{U"fri", 5},  Word{U"sat", 6}, Word{U"sun", 7},
};
constexpr std::array kMonths{
    Word{U"january", 1},   Word{U"february", 2}, Word{U"march", 3},     Word{U"april", 4},
    Word{U"may", 5},       Word{U"june", 6},     Word{U"july", 7},      Word{U"august", 8},
    Word{U"september", 9}, Word{U"october", 10}, Word{U"november", 11}, Word{U"december", 12},
    Word{U"jan", 1},       Word{U"feb", 2},      Word{U"mar", 3},       Word{U"apr", 4},
    Word{U"jun", 6},       Word{U"jul", 7},      Word{U"aug", 8},       Word{U"sep", 9},
    Word{U"sept", 9},      Word{U"oct", 10},     Word{U"nov", 11},      Word{U"dec", 12},
};
constexpr std::array kCounts{
    Word{U"a", 1},    Word{U"an", 1},   Word{U"one", 1},     Word{U"two", 2},     Word{U"three", 3},
    Word{U"four", 4}, Word{U"five", 5}, Word{U"six", 6},     Word{U"seven", 7},   Word{U"eight", 8},
    Word{U"nine", 9}, Word{U"ten", 10}, Word{U"eleven", 11}, Word{U"twelve", 12},
};
constexpr std::array kRelativeWords{
    Word{U"today", 0},
    Word{U"tonight", 0},
    Word{U"tomorrow", 1},
    Word{U"tmrw", 1},
    Word{U"yesterday", -1},
    Word{U"day after tomorrow", 2},
    Word{U"day before yesterday", -2},
};
constexpr std::array kChineseRelative{
    Word{U"今天", 0},  Word{U"今日", 0},    Word{U"明天", 1},  Word{U"明日", 1},
    Word{U"后天", 2},  Word{U"大后天", 3},  Word{U"昨天", -1}, Word{U"昨日", -1},
    Word{U"前天", -2}, Word{U"大前天", -3},
};

struct Found {
    int value = 0;
    std::size_t end = 0;
};

// The table entry spelled as a whole ASCII word at `i`.
template <class Table>
std::optional<Found> word_at(const Text& text, std::size_t i, const Table& table) {
    for (const Word& w : table) {
        if (auto end = text.match_word(i, w.word)) {
            return Found{w.value, *end};
        }
    }
    return std::nullopt;
}

// The table entry spelled exactly at `i` (no word boundaries: Chinese), longest first.
template <class Table>
std::optional<Found> chinese_at(const Text& text, std::size_t i, const Table& table) {
    std::optional<Found> best;
    for (const Word& w : table) {
        if (auto end = text.match(i, w.word); end && (!best || *end > best->end)) {
            best = Found{w.value, *end};
        }
    }
    return best;
}

class DateFinder {
public:
    DateFinder(const Text& text, year_month_day today, std::vector<Candidate>& out)
        : text_(text), today_(sys_days{today}), out_(out) {}

    void run() {
        for (std::size_t i = 0; i < text_.size(); ++i) {
            if (text_.letter(i) && text_.starts_word(i)) {
                english_words(i);
            }
            if (text_.digit(i) && !(i > 0 && text_.alnum(i - 1))) {
                numeric(i);
                english_day_first(i);
                english_count(i);
                chinese_count(i);
            }
            if (text_.at(i) >= 0x80) {
                chinese(i);
            }
        }
    }

private:
    void add(sys_days d, std::size_t begin, std::size_t end) {
        const year_month_day ymd{d};
        const int y = static_cast<int>(ymd.year());
        if (!ymd.ok() || y < 1 || y > 9999) {
            return;
        }
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()));
        out_.push_back(Candidate{"date", buf, begin, end, false});
    }

    void add_offset(std::int64_t offset, std::size_t begin, std::size_t end) {
        add(today_ + days{offset}, begin, end);
    }

    void add_ymd(int y, int m, int d, std::size_t begin, std::size_t end) {
        const year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                                 std::chrono::day{static_cast<unsigned>(d)}};
        if (ymd.ok()) {
            add(sys_days{ymd}, begin, end);
        }
    }

    int reference_year() const { return static_cast<int>(year_month_day{today_}.year()); }
    int today_weekday() const {
        return static_cast<int>(std::chrono::weekday{today_}.iso_encoding());
    }

    // A four-digit year after `i` (", 2026" or " 2026"); returns its end.
    std::optional<Found> year_after(std::size_t i) const {
        std::size_t j = i;
        if (text_.at(j) == U',') {
            ++j;
        }
        j = text_.skip_spaces(j, 2);
        if (j == i || !text_.digit(j)) {
            return std::nullopt;
        }
        std::size_t k = j;
        int y = 0;
        while (text_.digit(k) && k - j < 5) {
            y = y * 10 + static_cast<int>(text_.at(k) - U'0');
            ++k;
        }
        if (k - j != 4 || text_.alnum(k) || y < 1900 || y > 2199) {
            return std::nullopt;
        }
        return Found{y, k};
    }

    // A day of the month: one or two digits, an optional ordinal suffix.
    std::optional<Found> day_at(std::size_t i) const {
        if (!text_.digit(i) || (i > 0 && text_.alnum(i - 1))) {
            return std::nullopt;
        }
        std::size_t j = i;
        int d = 0;
        while (text_.digit(j) && j - i < 3) {
            d = d * 10 + static_cast<int>(text_.at(j) - U'0');
            ++j;
        }
        if (j - i > 2 || d < 1 || d > 31) {
            return std::nullopt;
        }
        for (std::u32string_view suffix : {U"st", U"nd", U"rd", U"th"}) {
            if (auto end = text_.match(j, suffix); end && text_.ends_word(*end)) {
                return Found{d, *end};
            }
        }
        if (text_.alnum(j)) {
            return std::nullopt;
        }
        return Found{d, j};
    }

    void english_words(std::size_t i) {
        // today, tomorrow, day after tomorrow, ...
        if (auto w = word_at(text_, i, kRelativeWords)) {
            add_offset(w->value, i, w->end);
        }

        // Weekdays, bare or with next/this/last/coming/on.
        enum class Qualifier { none, next, last, upcoming, on };
        Qualifier q = Qualifier::none;
        std::size_t at = i;
        std::size_t begin = i;
        for (auto [word, kind] : {std::pair{std::u32string_view{U"next"}, Qualifier::next},
                                  std::pair{std::u32string_view{U"last"}, Qualifier::last},
                                  std::pair{std::u32string_view{U"this"}, Qualifier::upcoming},
                                  std::pair{std::u32string_view{U"coming"}, Qualifier::upcoming},
                                  std::pair{std::u32string_view{U"on"}, Qualifier::on}}) {
            if (auto end = text_.match_word(i, word); end && text_.at(*end) == U' ') {
                q = kind;
                at = text_.skip_spaces(*end, 3);
                begin = kind == Qualifier::on ? at : i;
                break;
            }
        }
        std::optional<Found> wd = word_at(text_, at, kWeekdays);
        if (!wd && q != Qualifier::none) {
            wd = word_at(text_, at, kWeekdayShort);
        }
        if (wd) {
            const int delta = (wd->value - today_weekday() + 7) % 7;
            if (q == Qualifier::next) {
                add_offset(delta == 0 ? 7 : delta, begin, wd->end);
            } else if (q == Qualifier::last) {
                const int back = (today_weekday() - wd->value + 7) % 7;
                add_offset(back == 0 ? -7 : -back, begin, wd->end);
            } else {
                add_offset(delta, begin, wd->end);
            }
        }

        // "in 3 days", "in a week".
        if (auto end = text_.match_word(i, U"in"); end && text_.at(*end) == U' ') {
            const std::size_t j = text_.skip_spaces(*end, 3);
            if (auto span = count_and_unit(j)) {
                add_offset(span->value, i, span->end);
            }
        }
        english_count(i);

        // "Dec 4", "December 4th, 2026", "Dec. 4".
        if (auto month = word_at(text_, i, kMonths)) {
            std::size_t j = month->end;
            if (text_.at(j) == U'.') {
                ++j;
            }
            const std::size_t k = text_.skip_spaces(j, 2);
            if (k == j) {
                return;
            }
            if (auto day = day_at(k)) {
                int year = reference_year();
                std::size_t end = day->end;
                if (auto y = year_after(day->end)) {
                    year = y->value;
                    end = y->end;
                }
                add_ymd(year, month->value, day->value, i, end);
            }
        }
    }

    // "3 days ago", "two weeks later", "5 days from now" starting at the count.
    void english_count(std::size_t i) {
        auto span = count_and_unit(i);
        if (!span || text_.at(span->end) != U' ') {
            return;
        }
        const std::size_t j = text_.skip_spaces(span->end, 3);
        if (auto end = text_.match_word(j, U"ago")) {
            add_offset(-span->value, i, *end);
        } else if (auto later = text_.match_word(j, U"later")) {
            add_offset(span->value, i, *later);
        } else if (auto from = text_.match_word(j, U"from now")) {
            add_offset(span->value, i, *from);
        } else if (auto from_today = text_.match_word(j, U"from today")) {
            add_offset(span->value, i, *from_today);
        }
    }

    // "<count> day(s)|week(s)": the offset in days and the end.
    std::optional<Found> count_and_unit(std::size_t i) const {
        std::uint64_t n = 0;
        std::size_t j = i;
        if (text_.digit(i)) {
            auto c = parse_count(text_, i, kMaxOffsetDays);
            if (!c || text_.alnum(c->end)) {
                return std::nullopt;
            }
            n = c->value;
            j = c->end;
        } else if (auto w = word_at(text_, i, kCounts)) {
            n = static_cast<std::uint64_t>(w->value);
            j = w->end;
        } else {
            return std::nullopt;
        }
        const std::size_t k = text_.skip_spaces(j, 3);
        if (k == j) {
            return std::nullopt;
        }
        for (auto [unit, factor] :
             {std::pair{std::u32string_view{U"days"}, 1}, std::pair{std::u32string_view{U"day"}, 1},
              std::pair{std::u32string_view{U"weeks"}, 7},
              std::pair{std::u32string_view{U"week"}, 7}}) {
            if (auto end = text_.match_word(k, unit)) {
                return Found{static_cast<int>(n) * factor, *end};
            }
        }
        return std::nullopt;
    }

    // "4 December", "4th of December 2026".
    void english_day_first(std::size_t i) {
        auto day = day_at(i);
        if (!day) {
            return;
        }
        std::size_t j = text_.skip_spaces(day->end, 2);
        if (j == day->end) {
            return;
        }
        if (auto of = text_.match_word(j, U"of"); of && text_.at(*of) == U' ') {
            j = text_.skip_spaces(*of, 2);
        }
        auto month = word_at(text_, j, kMonths);
        if (!month) {
            return;
        }
        std::size_t end = month->end;
        if (text_.at(end) == U'.') {
            ++end;
        }
        int year = reference_year();
        if (auto y = year_after(end)) {
            year = y->value;
            end = y->end;
        } else if (text_.at(end - 1) == U'.') {
            --end;
        }
        add_ymd(year, month->value, day->value, i, end);
    }

    // Reads up to `max_digits` digits at `j`; returns the value and end.
    std::optional<Found> digits_at(std::size_t j, std::size_t min_digits,
                                   std::size_t max_digits) const {
        std::size_t k = j;
        int v = 0;
        while (text_.digit(k) && k - j <= max_digits) {
            v = v * 10 + static_cast<int>(text_.at(k) - U'0');
            ++k;
        }
        if (k - j < min_digits || k - j > max_digits) {
            return std::nullopt;
        }
        return Found{v, k};
    }

    // "2026-12-05", "2026/12/05", "2026.12.05", US "12/05/2026".
    void numeric(std::size_t i) {
        const auto a = digits_at(i, 1, 4);
        if (!a) {
            return;
        }
        const char32_t sep = text_.at(a->end);
        if (sep != U'-' && sep != U'/' && sep != U'.') {
            return;
        }
        const auto b = digits_at(a->end + 1, 1, 2);
        if (!b || text_.at(b->end) != sep) {
            return;
        }
        const auto c = digits_at(b->end + 1, 1, 4);
        if (!c || text_.alnum(c->end) ||
            ((text_.at(c->end) == sep || text_.at(c->end) == U'.') && text_.digit(c->end + 1))) {
            return;
        }
        const std::size_t a_len = a->end - i;
        const std::size_t c_len = c->end - (b->end + 1);
        if (a_len == 4 && c_len <= 2) {
            add_ymd(a->value, b->value, c->value, i, c->end);
        } else if (sep == U'/' && a_len <= 2 && c_len == 4) {
            add_ymd(c->value, a->value, b->value, i, c->end);
        }
    }

    void chinese(std::size_t i) {
        // 今天, 明天, 大后天, ...
        if (auto w = chinese_at(text_, i, kChineseRelative)) {
            add_offset(w->value, i, w->end);
        }
        chinese_weekday(i);
        chinese_count(i);
    }

    // 周三, 星期天, 下周五, 上个礼拜一, 这周日.
    void chinese_weekday(std::size_t i) {
        int week = 0;  // 0: the nearest such day; 1 next week; -1 last week; 2 this week
        std::size_t j = i;
        for (auto [word, kind] :
             {std::pair{std::u32string_view{U"下个"}, 1}, std::pair{std::u32string_view{U"下"}, 1},
              std::pair{std::u32string_view{U"上个"}, -1},
              std::pair{std::u32string_view{U"上"}, -1}, std::pair{std::u32string_view{U"这个"}, 2},
              std::pair{std::u32string_view{U"这"}, 2}, std::pair{std::u32string_view{U"本"}, 2}}) {
            if (auto end = text_.match(i, word)) {
                week = kind;
                j = *end;
                break;
            }
        }
        // "一周一次" (once a week) holds 周一 but means no day.
        if (week == 0 && i > 0 && (numeral_char(text_.at(i - 1)) || text_.digit(i - 1))) {
            return;
        }
        std::optional<std::size_t> after;
        for (std::u32string_view word : {U"星期", U"礼拜", U"周"}) {
            if ((after = text_.match(j, word))) {
                break;
            }
        }
        if (!after) {
            return;
        }
        int day = 0;
        switch (text_.at(*after)) {
            case U'一':
                day = 1;
                break;
            case U'二':
                day = 2;
                break;
            case U'三':
                day = 3;
                break;
            case U'四':
                day = 4;
                break;
            case U'五':
                day = 5;
                break;
            case U'六':
                day = 6;
                break;
            case U'日':
            case U'天':
                day = 7;
                break;
            default:
                return;
        }
        const int today = today_weekday();
        if (week == 0) {
            add_offset((day - today + 7) % 7, i, *after + 1);
        } else {
            const int monday = 1 - today;
            const int shift = week == 2 ? 0 : 7 * week;
            add_offset(monday + shift + day - 1, i, *after + 1);
        }
    }

    // 3天后, 两周以后, 三个星期前, 12月5日, 2026年12月5号.
    void chinese_count(std::size_t i) {
        if (i > 0 && (numeral_char(text_.at(i - 1)) || text_.digit(i - 1))) {
            return;
        }
        auto n = parse_count(text_, i, 9999);
        if (!n) {
            return;
        }

        // Offsets in days or weeks.
        std::optional<std::size_t> unit_end;
        int factor = 1;
        if ((unit_end = text_.match(n->end, U"天"))) {
            factor = 1;
        } else {
            for (std::u32string_view word : {U"个星期", U"星期", U"个礼拜", U"礼拜", U"周"}) {
                if ((unit_end = text_.match(n->end, word))) {
                    factor = 7;
                    break;
                }
            }
        }
        if (unit_end && n->value <= kMaxOffsetDays) {
            for (auto [word, sign] : {std::pair{std::u32string_view{U"以后"}, 1},
                                      std::pair{std::u32string_view{U"之后"}, 1},
                                      std::pair{std::u32string_view{U"后"}, 1},
                                      std::pair{std::u32string_view{U"以前"}, -1},
                                      std::pair{std::u32string_view{U"之前"}, -1},
                                      std::pair{std::u32string_view{U"前"}, -1}}) {
                if (auto end = text_.match(*unit_end, word)) {
                    add_offset(sign * static_cast<std::int64_t>(n->value) * factor, i, *end);
                    return;
                }
            }
        }

        // [Y年]M月D日.
        int year = reference_year();
        std::optional<CountMatch> month;
        if (auto y = text_.match(n->end, U"年")) {
            if (n->value < 1900 || n->value > 2199) {
                return;
            }
            year = static_cast<int>(n->value);
            month = parse_count(text_, *y, 12);
        } else {
            month = n;
        }
        if (!month || month->value < 1 || month->value > 12) {
            return;
        }
        auto m_end = text_.match(month->end, U"月");
        if (!m_end) {
            return;
        }
        auto day = parse_count(text_, *m_end, 31);
        if (!day) {
            return;
        }
        auto end = text_.match(day->end, U"日");
        if (!end) {
            end = text_.match(day->end, U"号");
        }
        if (end) {
            add_ymd(year, static_cast<int>(month->value), static_cast<int>(day->value), i, *end);
        }
    }

    const Text& text_;
    sys_days today_;
    std::vector<Candidate>& out_;
};

}  // namespace

void find_dates(const Text& text, year_month_day today, std::vector<Candidate>& out) {
    DateFinder(text, today, out).run();
}

}  // namespace teller::nlu::detail
