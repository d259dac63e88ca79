// The self-contained HTML evaluation report: summary, tables, confusion-matrix heat map.
#include <algorithm>
#include <cstdio>
#include <string>

#include "teller/nlu/evaluation.hpp"

namespace teller::nlu {
namespace {

// Inline style and script: the page references nothing outside itself.
constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6}
table.sortable th:after{content:" \2195";color:#aaa}
.matrix{overflow:auto;max-width:100%;max-height:80vh;border:1px solid #ccc}
.matrix table{font-size:10px}
.matrix td{min-width:18px;height:18px;padding:0 2px;text-align:center;border:1px solid #f0f0f0}
.matrix thead th{position:sticky;top:0;background:#fafafa;z-index:2;writing-mode:vertical-rl;
  transform:rotate(180deg);white-space:nowrap;padding:4px 1px;font-weight:normal}
.matrix tbody th{position:sticky;left:0;background:#fafafa;z-index:1;white-space:nowrap;
  font-weight:normal;padding:0 6px}
.matrix thead th.corner{left:0;z-index:3;writing-mode:horizontal-tb;transform:none}
.matrix td:hover{outline:2px solid #000}
#hover{position:fixed;right:16px;bottom:16px;background:#222;color:#fff;padding:6px 10px;
  border-radius:4px;font-size:13px;display:none;max-width:60ch}
.legend span{display:inline-block;width:40px;height:12px;vertical-align:middle}
ul.ex{margin:2px 0 8px 0;color:#555}
)";

constexpr const char* kScript = R"(
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,col){
    th.addEventListener('click',function(){
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      var asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
      rows.sort(function(a,b){
        var x=a.cells[col].dataset.v||a.cells[col].textContent,
            y=b.cells[col].dataset.v||b.cells[col].textContent;
        var nx=parseFloat(x),ny=parseFloat(y);
        var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?r:-r;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
var hover=document.getElementById('hover');
document.querySelectorAll('.matrix td').forEach(function(td){
  td.addEventListener('mouseenter',function(){
    hover.textContent=td.dataset.e+' \u2192 '+td.dataset.p+': '+td.dataset.c;
    hover.style.display='block';});
  td.addEventListener('mouseleave',function(){hover.style.display='none';});
});
)";

std::string percent(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", 100.0 * x);
    return buf;
}

std::string fixed3(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x);
    return buf;
}

void card(std::string& out, std::string_view label, const std::string& value) {
    out += "<div class=card>" + html_escape(label) + "<b>" + html_escape(value) + "</b></div>";
}

// Background of a matrix cell: green by recall on the diagonal, red by count elsewhere.
std::string cell_colour(bool diagonal, double strength) {
    char buf[64];
    if (diagonal) {
        std::snprintf(buf, sizeof buf, "rgba(40,150,60,%.2f)", 0.15 + 0.75 * strength);
    } else {
        std::snprintf(buf, sizeof buf, "rgba(210,40,30,%.2f)", 0.15 + 0.85 * strength);
    }
    return buf;
}

void confusion_matrix(std::string& out, const DetailedReport& r) {
    int max_off = 1;
    std::vector<int> row_total(r.labels.size(), 0);
    for (std::size_t i = 0; i < r.labels.size(); ++i) {
        for (std::size_t j = 0; j < r.labels.size(); ++j) {
            row_total[i] += r.confusion[i][j];
            if (i != j) {
                max_off = std::max(max_off, r.confusion[i][j]);
            }
        }
    }
    out +=
        "<p class=legend>Rows: expected intent; columns: predicted. Diagonal "
        "<span style='background:" +
        cell_colour(true, 1) +
        "'></span> shaded by recall; errors <span style='background:" + cell_colour(false, 1) +
        "'></span> shaded by count (darkest: " + std::to_string(max_off) +
        "). Hover a cell for the pair and count.</p>";
    out += "<div class=matrix><table><thead><tr><th class=corner>expected \\ predicted</th>";
    for (const std::string& label : r.labels) {
        out += "<th title='" + html_escape(label) + "'>" + html_escape(label) + "</th>";
    }
    out += "</tr></thead><tbody>";
    for (std::size_t i = 0; i < r.labels.size(); ++i) {
        const std::string expected = html_escape(r.labels[i]);
        out += "<tr><th>" + expected + "</th>";
        for (std::size_t j = 0; j < r.labels.size(); ++j) {
            const int count = r.confusion[i][j];
            out += "<td data-e='" + expected + "' data-p='" + html_escape(r.labels[j]) +
                   "' data-c='" + std::to_string(count) + "'";
            if (count > 0) {
                const double strength = i == j
                                            ? static_cast<double>(count) / std::max(1, row_total[i])
                                            : static_cast<double>(count) / max_off;
                out += " style='background:" + cell_colour(i == j, strength) + "'>" +
                       std::to_string(count);
            } else {
                out += ">";
            }
            out += "</td>";
        }
        out += "</tr>";
    }
    out += "</tbody></table></div>";
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

std::string eval_report_html(const DetailedReport& report, const HtmlReportOptions& options) {
    const EvalReport& r = report.intents;
    std::string out = "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>" +
                      html_escape(options.title) + "</title><style>" + kStyle +
                      "</style></head><body><h1>" + html_escape(options.title) + "</h1>";

    // The test set's sections (absent for a cross-validation-only report).
    if (r.total > 0) {
        // Summary.
        out += "<div class=cards>";
        card(out, "accuracy", percent(r.accuracy) + " %");
        card(out, "macro-F1", percent(r.macro_f1) + " %");
        card(out, "test utterances", std::to_string(r.total));
        card(out, "intents", std::to_string(r.per_intent.size()));
        if (report.has_entities) {
            card(out, "entity micro-F1", percent(report.entity_micro.f1) + " %");
        }
        for (const auto& [label, value] : options.facts) {
            card(out, label, value);
        }
        out += "</div>";

        // Per intent.
        out +=
            "<h2>Per intent</h2><p>Click a column to sort.</p><table class=sortable><thead><tr>"
            "<th>intent</th><th class=n>precision</th><th class=n>recall</th><th class=n>F1</th>"
            "<th class=n>support</th></tr></thead><tbody>";
        for (const EvalReport::PerIntent& p : r.per_intent) {
            out += "<tr><td>" + html_escape(p.intent) + "</td><td class=n>" + fixed3(p.precision) +
                   "</td><td class=n>" + fixed3(p.recall) + "</td><td class=n>" + fixed3(p.f1) +
                   "</td><td class=n>" + std::to_string(p.support) + "</td></tr>";
        }
        out += "</tbody></table>";

        // Entities.
        if (report.has_entities) {
            out +=
                "<h2>Entities (exact span and type)</h2><table class=sortable><thead><tr>"
                "<th>type</th><th class=n>precision</th><th class=n>recall</th><th class=n>F1</th>"
                "<th class=n>TP</th><th class=n>FP</th><th class=n>FN</th></tr></thead><tbody>";
            std::vector<EntityScore> rows = report.entity_types;
            rows.push_back(report.entity_micro);
            for (const EntityScore& s : rows) {
                out += "<tr><td>" + html_escape(s.type) + "</td><td class=n>" +
                       fixed3(s.precision) + "</td><td class=n>" + fixed3(s.recall) +
                       "</td><td class=n>" + fixed3(s.f1) + "</td><td class=n>" +
                       std::to_string(s.true_positives) + "</td><td class=n>" +
                       std::to_string(s.false_positives) + "</td><td class=n>" +
                       std::to_string(s.false_negatives) + "</td></tr>";
            }
            out += "</tbody></table>";
        }

        // Confusion matrix.
        out += "<h2>Confusion matrix</h2>";
        confusion_matrix(out, report);

        // Worst confusions with examples.
        out += "<h2>Worst confusions</h2><ol>";
        std::size_t shown = 0;
        for (const auto& [expected, predicted, count] : r.worst_confusions) {
            if (shown++ == 30) {
                break;
            }
            const std::string shown_predicted = predicted.empty() ? "(none)" : predicted;
            out += "<li><b>" + html_escape(expected) + "</b> &rarr; <b>" +
                   html_escape(shown_predicted) + "</b>: " + std::to_string(count) +
                   "<ul class=ex>";
            auto it = report.confusion_examples.find({expected, shown_predicted});
            if (it != report.confusion_examples.end()) {
                for (const std::string& text : it->second) {
                    out += "<li>" + html_escape(text) + "</li>";
                }
            }
            out += "</ul></li>";
        }
        out += "</ol>";
    } else if (!options.facts.empty()) {
        out += "<div class=cards>";
        for (const auto& [label, value] : options.facts) {
            card(out, label, value);
        }
        out += "</div>";
    }

    // Cross-validation.
    if (const CrossValidation* cv = options.cross_validation) {
        out += "<h2>Cross-validation (" + std::to_string(cv->folds.size()) +
               " stratified folds)</h2><table><thead><tr><th>fold</th><th class=n>train</th>"
               "<th class=n>test</th><th class=n>accuracy %</th><th class=n>macro-F1 %</th>"
               "</tr></thead><tbody>";
        for (const FoldResult& f : cv->folds) {
            out += "<tr><td>" + std::to_string(f.fold) + "</td><td class=n>" +
                   std::to_string(f.train_size) + "</td><td class=n>" +
                   std::to_string(f.test_size) + "</td><td class=n>" + percent(f.accuracy) +
                   "</td><td class=n>" + percent(f.macro_f1) + "</td></tr>";
        }
        out += "<tr><td>mean &plusmn; std</td><td></td><td></td><td class=n>" +
               percent(cv->mean_accuracy) + " &plusmn; " + percent(cv->std_accuracy) +
               "</td><td class=n>" + percent(cv->mean_macro_f1) + " &plusmn; " +
               percent(cv->std_macro_f1) + "</td></tr></tbody></table>";
    }

    // Out of scope.
    if (const OutOfScopeReport* oos = options.out_of_scope) {
        std::string held;
        for (const std::string& h : oos->held_out) {
            held += (held.empty() ? "" : ", ") + h;
        }
        auto share = [](std::size_t a, std::size_t b) {
            return b > 0 ? percent(static_cast<double>(a) / static_cast<double>(b)) : "0.00";
        };
        out += "<h2>Out of scope</h2><p>Held out of training: " + html_escape(held) +
               ".</p><p>At threshold " + fixed3(oos->threshold) + ": out-of-scope rejected " +
               share(oos->oos_rejected, oos->oos_total) + " %, wrongly accepted " +
               share(oos->oos_accepted, oos->oos_total) + " % (of " +
               std::to_string(oos->oos_total) + "); in scope accepted and right " +
               share(oos->in_accepted_correct, oos->in_total) + " %, falsely rejected " +
               share(oos->in_rejected, oos->in_total) + " % (of " + std::to_string(oos->in_total) +
               ").</p><table><thead><tr><th class=n>threshold</th><th class=n>OOS rejected "
               "%</th><th class=n>in-scope accepted &amp; right %</th><th class=n>in-scope "
               "false reject %</th></tr></thead><tbody>";
        for (const ThresholdRow& row : oos->sweep) {
            out += "<tr><td class=n>" + fixed3(row.threshold) + "</td><td class=n>" +
                   percent(row.oos_rejected) + "</td><td class=n>" +
                   percent(row.in_scope_accepted_correct) + "</td><td class=n>" +
                   percent(row.in_scope_false_reject) + "</td></tr>";
        }
        out += "</tbody></table>";
    }

    out += "<div id=hover></div><script>";
    out += kScript;
    out += "</script></body></html>\n";
    return out;
}

}  // namespace teller::nlu
