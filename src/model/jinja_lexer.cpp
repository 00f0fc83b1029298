// Jinja lexer with transformers' whitespace settings (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False). Expression tokens are produced inside {{ }} and {% %}; comments
// vanish here. Errors are template_error with the line of the offending tag.
#include "model/jinja_lexer.h"

#include "core/text.h"
#include "model/jinja_value.h"

namespace smelt::jinja {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

class lexer {
 public:
  explicit lexer(std::string_view source) : src_(source) {
    if (!src_.empty() && src_.back() == '\n') src_.remove_suffix(1);
  }

  std::vector<token> run() {
    size_t text_start = 0;
    while (pos_ <= src_.size()) {
      size_t p = find_tag(pos_);
      std::string text(src_.substr(text_start, p - text_start));
      if (p == src_.size()) {
        emit_text(std::move(text), text_start);
        break;
      }
      char kind = src_[p + 1];  // '{', '%' or '#'
      char modifier = p + 2 < src_.size() ? src_[p + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (kind != '{' && modifier != '+') {
        size_t k = text.size();
        while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
        size_t at = text_start + k;
        if (at == 0 || src_[at - 1] == '\n') text.resize(k);
      }
      emit_text(std::move(text), text_start);
      pos_ = p + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (kind == '#') {
        lex_comment(p);
      } else {
        lex_tag(kind == '{');
      }
      text_start = pos_;
    }
    tokens_.push_back({token_kind::token_eof, "", line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  std::string_view src_;
  size_t pos_ = 0;
  std::vector<token> tokens_;
  size_t line_pos_ = 0;
  int line_ = 1;

  int line_at(size_t p) {
    if (p < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < p && line_pos_ < src_.size(); ++line_pos_)
      if (src_[line_pos_] == '\n') ++line_;
    return line_;
  }

  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void emit_text(std::string text, size_t at) {
    if (!text.empty()) tokens_.push_back({token_kind::token_text, std::move(text), line_at(at)});
  }

  // After a tag closes: `-` strips all following whitespace, else trim_blocks drops one newline.
  void after_tag_end(bool strip, bool block_like) {
    if (strip) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (block_like) {
      if (pos_ < src_.size() && src_[pos_] == '\n') {
        ++pos_;
      } else if (pos_ + 1 < src_.size() && src_[pos_] == '\r' && src_[pos_ + 1] == '\n') {
        pos_ += 2;
      }
    }
  }

  void lex_comment(size_t start) {
    size_t end = src_.find("#}", pos_);
    if (end == std::string_view::npos) throw template_error(line_at(start), "unterminated comment {# ... #}");
    bool strip = end > 0 && src_[end - 1] == '-' && end - 1 >= pos_;
    pos_ = end + 2;
    after_tag_end(strip, true);
  }

  void lex_tag(bool is_var) {
    int start_line = line_at(pos_);
    tokens_.push_back({is_var ? token_kind::token_var_begin : token_kind::token_block_begin, "", start_line});
    size_t first_token = tokens_.size();
    int brackets = 0;  // like Jinja2, `}}` closes the tag only outside ( [ {
    for (;;) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size())
        throw template_error(start_line, is_var ? "unterminated {{ ... }}" : "unterminated {% ... %}");
      std::string_view rest = src_.substr(pos_);
      const char* close = is_var ? "}}" : "%}";
      bool strip = false;
      size_t close_len = 0;
      if (brackets > 0) {
        // inside brackets: no tag end
      } else if (rest.substr(0, 2) == close) {
        close_len = 2;
      } else if ((rest[0] == '-' || (!is_var && rest[0] == '+')) && rest.substr(1, 2) == close) {
        strip = rest[0] == '-';
        close_len = 3;
      }
      if (close_len) {
        pos_ += close_len;
        tokens_.push_back(
            {is_var ? token_kind::token_var_end : token_kind::token_block_end, "", line_at(pos_)});
        if (!is_var && tokens_.size() > first_token && tokens_[first_token].kind == token_kind::token_name &&
            tokens_[first_token].text == "raw")
          throw template_error(start_line, "unsupported construct 'raw'");
        after_tag_end(strip, !is_var);
        return;
      }
      lex_expression_token();
      const token& t = tokens_.back();
      if (t.kind == token_kind::token_operator && t.text.size() == 1) {
        if (t.text[0] == '(' || t.text[0] == '[' || t.text[0] == '{') ++brackets;
        if ((t.text[0] == ')' || t.text[0] == ']' || t.text[0] == '}') && brackets > 0) --brackets;
      }
    }
  }

  void lex_expression_token() {
    int line = line_at(pos_);
    char c = src_[pos_];
    if (c == '\'' || c == '"') {
      tokens_.push_back({token_kind::token_string, lex_string(c, line), line});
      return;
    }
    if (is_digit(c)) {
      size_t start = pos_;
      bool is_float = false;
      while (pos_ < src_.size() && (is_digit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
      if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
        is_float = true;
        ++pos_;
        while (pos_ < src_.size() && (is_digit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
      }
      if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
        size_t save = pos_++;
        if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-')) ++pos_;
        if (pos_ < src_.size() && is_digit(src_[pos_])) {
          is_float = true;
          while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
        } else {
          pos_ = save;
        }
      }
      std::string text;
      for (char d : src_.substr(start, pos_ - start))
        if (d != '_') text += d;
      tokens_.push_back({is_float ? token_kind::token_float : token_kind::token_integer, text, line});
      return;
    }
    if (is_name_start(c)) {
      size_t start = pos_;
      while (pos_ < src_.size() && (is_name_start(src_[pos_]) || is_digit(src_[pos_]))) ++pos_;
      tokens_.push_back({token_kind::token_name, std::string(src_.substr(start, pos_ - start)), line});
      return;
    }
    static const char* const two_char[] = {"**", "//", "==", "!=", "<=", ">="};
    for (const char* op : two_char) {
      if (src_.substr(pos_, 2) == op) {
        tokens_.push_back({token_kind::token_operator, op, line});
        pos_ += 2;
        return;
      }
    }
    static const std::string_view one_char = "+-*/%~<>=()[]{},.:|";
    if (one_char.find(c) != std::string_view::npos) {
      tokens_.push_back({token_kind::token_operator, std::string(1, c), line});
      ++pos_;
      return;
    }
    throw template_error(line, std::string("unexpected character '") + c + "' in a tag");
  }

  // Python string-literal escapes, as Jinja2 decodes them.
  std::string lex_string(char quote, int line) {
    std::string out;
    ++pos_;
    while (pos_ < src_.size() && src_[pos_] != quote) {
      char c = src_[pos_++];
      if (c != '\\' || pos_ >= src_.size()) {
        out += c;
        continue;
      }
      char e = src_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'a':
          out += '\a';
          break;
        case '0':
          out += '\0';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + digits > src_.size())
            throw template_error(line, "truncated \\" + std::string(1, e) + " escape");
          char32_t cp =
              static_cast<char32_t>(std::stoul(std::string(src_.substr(pos_, digits)), nullptr, 16));
          pos_ += digits;
          smelt::utf8_append(out, cp);
          break;
        }
        default:
          out += '\\';
          out += e;
      }
    }
    if (pos_ >= src_.size()) throw template_error(line, "unterminated string literal");
    ++pos_;
    return out;
  }
};

}  // namespace

std::vector<token> jinja_tokenize(std::string_view source) {
  return lexer(source).run();
}

}  // namespace smelt::jinja
