// Rule-based question/answer extraction. Each rule reads blocks, never free-form generation:
// table rows -> "what is COLUMN of ROW", "X is Y" / "X是Y" sentences -> "what is X",
// ordered lists and 第N条 clauses -> "what are the steps / what does clause N say",
// sections -> "what does the text say about HEADING" answered by its first sentences.
#include "corpus/template_generator.h"

#include <fmt/format.h>

#include <set>

#include "core/text.h"

namespace smelt {

namespace {

bool language_is_zh(template_language language, std::string_view sample) {
  if (language == template_language::zh) return true;
  if (language == template_language::en) return false;
  return text_cjk_ratio(sample) >= 0.3;
}

// "3. Types of alarms" -> "Types of alarms"; "第二章 安装" stays.
std::string heading_topic(std::string_view heading) {
  size_t i = 0;
  while (i < heading.size() && (std::isdigit(static_cast<unsigned char>(heading[i])) || heading[i] == '.'))
    ++i;
  std::string_view rest = text_trim(heading.substr(i));
  return std::string(rest.empty() ? heading : rest);
}

bool text_has_punctuation(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = utf8_next(s, i);
    if (cp == ',' || cp == ';' || cp == ':' || cp == '(' || cp == 0xFF0C || cp == 0x3001 || cp == 0xFF1A ||
        cp == 0xFF08 || cp == 0xFF1B || cp == '"' || cp == 0x201C)
      return true;
  }
  return false;
}

// English "X is/are/means Y." with X a short noun phrase starting the sentence.
bool definition_en(std::string_view sentence, std::string& subject, std::string& verb) {
  for (const char* v : {" is ", " are ", " means ", " refers to "}) {
    size_t at = sentence.find(v);
    if (at == std::string_view::npos || at < 3 || at > 60) continue;
    std::string_view x = sentence.substr(0, at);
    size_t words = 1;
    for (char c : x) words += c == ' ';
    if (words > 6 || text_has_punctuation(x) || !std::isupper(static_cast<unsigned char>(x[0]))) continue;
    if (sentence.size() - at < 12) continue;
    subject = std::string(x);
    std::string_view trimmed = text_trim(v);
    verb = trimmed == "are" ? "are" : trimmed == "is" ? "is" : "mean";
    for (const char* article : {"The ", "A ", "An "})
      if (text_starts_with(subject, article)) subject[0] = static_cast<char>(std::tolower(subject[0]));
    return true;
  }
  return false;
}

// Chinese definitions: "X是指Y" / "X指的是Y", or "X是一种/一类/一个Y" (a bare 是 is far more often
// a copula inside a clause — "致命的往往是烟雾" — than a definition). X: 2..16 characters, no
// punctuation, not ending in 的.
bool definition_zh(std::string_view sentence, std::string& subject) {
  for (const char* marker : {"是指", "指的是", "是一种", "是一类", "是一个"}) {
    size_t at = sentence.find(marker);
    if (at == std::string_view::npos || at == 0) continue;
    std::string_view x = sentence.substr(0, at);
    size_t n = utf8_length(x);
    if (n < 2 || n > 16 || text_has_punctuation(x) || text_cjk_ratio(x) < 0.5) continue;
    if (text_ends_with(x, "的")) continue;
    if (utf8_length(sentence.substr(at)) < 6) continue;
    subject = std::string(x);
    return true;
  }
  return false;
}

std::string first_sentences(std::string_view text, size_t count) {
  std::vector<std::string_view> sentences = text_sentences(text);
  if (sentences.empty()) return "";
  size_t last = std::min(count, sentences.size()) - 1;
  // A verbatim span of the text: from the first sentence's start to the last one's end.
  const char* b = sentences.front().data();
  const char* e = sentences[last].data() + sentences[last].size();
  return std::string(b, e);
}

struct generator {
  template_language language;
  std::vector<qa_item> items;
  std::set<std::string> questions;

  void add(std::string question, std::string answer, std::string quote) {
    if (question.empty() || answer.empty() || !questions.insert(question).second) return;
    items.push_back({std::move(question), std::move(answer), std::move(quote)});
  }

  void from_table(const block& b) {
    if (b.rows.size() < 2 || b.rows[0].size() < 2) return;
    const auto& header = b.rows[0];
    for (size_t r = 1; r < b.rows.size(); ++r) {
      const auto& row = b.rows[r];
      std::string subject = text_collapse_spaces(row[0]);
      if (subject.empty()) continue;
      for (size_t c = 1; c < row.size() && c < header.size(); ++c) {
        std::string column = text_collapse_spaces(header[c]);
        std::string cell = text_collapse_spaces(row[c]);
        if (column.empty() || cell.empty()) continue;
        if (language_is_zh(language, subject + column))
          add(fmt::format("{}的{}是什么？", subject, column),
              fmt::format("{}的{}：{}。", subject, column, cell), cell);
        else
          add(fmt::format("What is the {} for {}?", column, subject), fmt::format("{}: {}.", column, cell),
              cell);
      }
    }
  }

  void from_sentences(const block& b) {
    for (std::string_view sentence : text_sentences(b.text)) {
      std::string subject, verb;
      if (text_cjk_ratio(sentence) >= 0.3) {
        if (definition_zh(sentence, subject))
          add(fmt::format("什么是{}？", subject), std::string(sentence), std::string(sentence));
      } else if (definition_en(sentence, subject, verb)) {
        add(verb == "mean" ? fmt::format("What does {} mean?", subject)
                           : fmt::format("What {} {}?", verb, subject),
            std::string(sentence), std::string(sentence));
      }
      // 第N条 clauses: "第三条 ..." -> what does clause N say.
      if (text_starts_with(sentence, "第")) {
        size_t tiao = sentence.find("条");
        if (tiao != std::string_view::npos && utf8_length(sentence.substr(0, tiao)) <= 6) {
          std::string clause(sentence.substr(0, tiao + std::string_view("条").size()));
          add(fmt::format("{}规定了什么？", clause), std::string(sentence), std::string(sentence));
        }
      }
    }
  }

  void from_section(const std::string& heading, const std::vector<const block*>& body) {
    if (heading.empty() || body.empty()) return;
    std::string topic = heading_topic(heading);
    std::vector<const block*> ordered;
    const block* paragraph = nullptr;
    for (const block* b : body) {
      if (b->kind == block_kind::list_item && b->ordered) ordered.push_back(b);
      if (b->kind == block_kind::paragraph && !paragraph) paragraph = b;
    }
    bool zh = language_is_zh(language, topic + (paragraph ? paragraph->text : ""));
    if (ordered.size() >= 2) {
      std::string answer;
      for (size_t i = 0; i < ordered.size(); ++i) answer += fmt::format("{}. {}\n", i + 1, ordered[i]->text);
      answer.pop_back();
      add(zh ? fmt::format("{}有哪些步骤？", topic) : fmt::format("What are the steps for {}?", topic),
          answer, ordered[0]->text);
    }
    if (paragraph) {
      std::string extract = first_sentences(paragraph->text, 2);
      add(zh ? fmt::format("关于“{}”，有哪些要点？", topic)
             : fmt::format("What does the text say about {}?", topic),
          extract, extract);
    }
  }
};

}  // namespace

std::vector<qa_item> template_generate(const document& doc, size_t begin, size_t end,
                                       template_language language) {
  rendered_document rendered = document_render(doc, render_format::markdown);
  generator g{language, {}, {}};
  std::string heading;
  std::vector<const block*> body;
  auto flush = [&] {
    g.from_section(heading, body);
    body.clear();
  };
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const block& b = doc.blocks[i];
    bool inside = rendered.spans[i].begin >= begin && rendered.spans[i].end <= end;
    if (b.kind == block_kind::heading) {
      flush();
      heading = b.text;  // a heading before the range still names the section the range continues
      continue;
    }
    if (!inside) continue;
    body.push_back(&b);
    if (b.kind == block_kind::table) g.from_table(b);
    if (b.kind == block_kind::paragraph || b.kind == block_kind::list_item) g.from_sentences(b);
  }
  flush();
  return g.items;
}

}  // namespace smelt
