// The Jinja interpreter on small templates: whitespace control as transformers sets it, loops,
// scoping and namespace(), operators, filters, tests, string methods, slicing, macros, and errors
// that name the unsupported construct and its line. Expected text follows Jinja2's documented
// behaviour; real chat templates are compared with @huggingface/jinja in chat_template_test.cpp.
#include <gtest/gtest.h>

#include "model/jinja_eval.h"
#include "model/jinja_parser.h"

namespace smelt::jinja {
namespace {

result<std::string> render(const std::string& source, std::vector<std::pair<std::string, value>> vars = {}) {
  auto p = jinja_parse(source);
  if (!p) return p.err();
  render_input input;
  jinja_add_builtin_globals(input.globals);
  for (auto& v : vars) input.globals.push_back(std::move(v));
  auto out = jinja_render(*p, input);
  if (!out) return out.err();
  return out->text;
}

std::string ok(const std::string& source, std::vector<std::pair<std::string, value>> vars = {}) {
  auto r = render(source, std::move(vars));
  EXPECT_TRUE(r.ok()) << source << "\n" << (r.ok() ? "" : r.message());
  return r.ok() ? r.value() : "<error>";
}

std::string fails(const std::string& source) {
  auto r = render(source);
  EXPECT_FALSE(r.ok()) << source << " rendered " << (r.ok() ? r.value() : "");
  return r.ok() ? "" : r.message();
}

value strings(std::initializer_list<const char*> items) {
  value_list list;
  for (const char* s : items) list.push_back(value::make_string(s));
  return value::make_list(std::move(list));
}

TEST(jinja, whitespace_control_matches_transformers_settings) {
  // trim_blocks drops the newline after a block tag, lstrip_blocks the indentation before it.
  EXPECT_EQ(ok("{% if true %}\n  yes\n{% endif %}\nend"), "  yes\nend");
  EXPECT_EQ(ok("a\n    {% if true %}\nb\n    {% endif %}\nc"), "a\nb\nc");
  EXPECT_EQ(ok("a  {%- if true -%}  b  {%- endif %}"), "ab");
  EXPECT_EQ(ok("x {{- ' y ' -}} z"), "x y z");
  EXPECT_EQ(ok("{{ 'a' }}\n{{ 'b' }}\n"), "a\nb");  // one trailing newline dropped, {{ }} keeps newlines
  EXPECT_EQ(ok("a {# note #}\nb"), "a b");
  EXPECT_EQ(ok("a\n  {#- note -#}\n  b"), "ab");
  EXPECT_EQ(ok("x {% if true %}y{% endif %}"), "x y");  // not at line start: no lstrip
  EXPECT_EQ(ok("  {%+ if true %}y{% endif %}"), "  y");
}

TEST(jinja, loops_expose_loop_variables_and_scope) {
  std::vector<std::pair<std::string, value>> vars = {{"xs", strings({"a", "b", "c"})}};
  EXPECT_EQ(ok("{% for x in xs %}{{ loop.index0 }}{{ loop.index }}{{ x }}{% if loop.first %}F{% endif %}"
               "{% if loop.last %}L{{ loop.length }}{% endif %},{% endfor %}",
               vars),
            "01aF,12b,23cL3,");
  EXPECT_EQ(ok("{% for x in xs if x != 'b' %}{{ loop.index }}{{ x }}{% endfor %}", vars), "1a2c");
  EXPECT_EQ(ok("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  // `set` inside a loop stays in the loop; namespace() carries values out.
  EXPECT_EQ(ok("{% set n = 0 %}{% for x in xs %}{% set n = n + 1 %}{% endfor %}{{ n }}", vars), "0");
  EXPECT_EQ(
      ok("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
         vars),
      "3");
  EXPECT_EQ(ok("{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(ok("{% for x in xs %}{% if x == 'b' %}{% break %}{% endif %}{{ x }}{% endfor %}", vars), "a");
  EXPECT_EQ(ok("{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{{ x }}{% endfor %}", vars), "ac");
  EXPECT_EQ(ok("{% for x in xs[::-1] %}{{ x }}{% endfor %}|{{ xs[1:] | join(',') }}|{{ xs[-1] }}", vars),
            "cba|b,c|c");
}

TEST(jinja, operators_follow_python) {
  EXPECT_EQ(ok("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"),
            "7 3 -4 1 3.5 1024");
  EXPECT_EQ(ok("{{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ [1] + [2] }}"), "a1None abab [1, 2]");
  EXPECT_EQ(ok("{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 > 1 and 'x' in 'xyz' }} {{ 3 not in [1, 2] }}"),
            "True True True True");
  EXPECT_EQ(ok("{{ none or 'fallback' }} {{ 0 and 1 }} {{ not [] }}"), "fallback 0 True");
  EXPECT_EQ(ok("{{ 'yes' if 1 > 2 else 'no' }}|{{ 'shown' if false }}|"), "no||");
  EXPECT_EQ(ok("{{ 1.5 }} {{ 2.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ true }}"),
            "1.5 2.0 0.30000000000000004 1e+20 True");
  EXPECT_EQ(ok("{{ {'k': 'v', 'n': [1, 'x']} }}"), "{'k': 'v', 'n': [1, 'x']}");
}

TEST(jinja, filters) {
  EXPECT_EQ(ok("[{{ '  hi \n' | trim }}] {{ 'abc' | length }} {{ '中文' | length }} {{ 'Ab' | upper }}{{ "
               "'Ab' | lower }}"),
            "[hi] 3 2 ABab");
  EXPECT_EQ(ok("{{ x | default('d') }} {{ '' | default('e', true) }} {{ 'a-b-c' | replace('-', '+') }}"),
            "d e a+b+c");
  EXPECT_EQ(
      ok("{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }} {{ ['a', 'b'] | join(', ') }} {{ 5 | string }}"),
      "13 a, b 5");
  EXPECT_EQ(ok("{{ {'a': 'é', 'b': [1, 2.5, true, none]} | tojson }}"),
            R"({"a": "é", "b": [1, 2.5, true, null]})");
  EXPECT_EQ(ok("{{ {'a': {'b': [1]}} | tojson(indent=2) }}"),
            "{\n  \"a\": {\n    \"b\": [\n      1\n    ]\n  }\n}");
  EXPECT_EQ(ok("{{ 'q\"\n' | tojson }}"), R"("q\"\n")");
  EXPECT_EQ(ok("{% set ms = [{'r': 'a', 'c': 1}, {'r': 'b', 'c': 2}, {'r': 'a', 'c': 3}] %}"
               "{{ ms | selectattr('r', 'equalto', 'a') | map(attribute='c') | join }}"
               "{{ ms | rejectattr('r', 'equalto', 'a') | map(attribute='c') | join }}"
               "{{ ms | selectattr('c') | list | length }}"),
            "1323");
  EXPECT_EQ(ok("{{ ['x', 'code_interpreter', 'y'] | reject('equalto', 'code_interpreter') | join(', ') }}"),
            "x, y");
  std::string e = fails("line one\n{{ 'x' | frobnicate }}");
  EXPECT_NE(e.find("line 2: unsupported construct: filter 'frobnicate'"), std::string::npos) << e;
}

TEST(jinja, tests_and_string_methods) {
  EXPECT_EQ(
      ok("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} "
         "{{ [] is iterable }} {{ 3 is odd }} {{ false is false }} {{ 1 is not string }}"),
      "False True True True True True True True True");
  EXPECT_EQ(ok("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} [{{ '\n a \n'.strip() }}] "
               "[{{ 'xxaxx'.lstrip('x') }}] [{{ 'xxaxx'.rstrip('x') }}] [{{ '\n\nb'.lstrip('\n') }}]"),
            "True True [a] [axx] [xxa] [b]");
  EXPECT_EQ(ok("{{ 'a</think>b</think>c'.split('</think>')[-1] }} {{ ' a  b '.split() | length }} "
               "{{ 'a,b,c'.split(',', 1) }}"),
            "c 2 ['a', 'b,c']");
  EXPECT_EQ(ok("{{ 'hello world'.title() }} {{ 'ab'.upper() }} {{ '中文字'[1:] }} {{ 'abc'[::-1] }}"),
            "Hello World AB 文字 cba");
  EXPECT_EQ(
      ok("{% set d = {'a': 1} %}{{ d.get('a') }} {{ d.get('b', 2) }} {{ d.keys() | list }} {{ 'a' in d }}"),
      "1 2 ['a'] True");
}

TEST(jinja, macros_and_set_blocks) {
  EXPECT_EQ(ok("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
               "{{ greet('A') }} {{ greet('B', punct='?') }}"),
            "Hi A! Hi B?");
  EXPECT_EQ(ok("{% set block %}x{{ 1 + 1 }}{% endset %}[{{ block }}]"), "[x2]");
}

TEST(jinja, errors_name_the_construct_and_line) {
  std::string e = fails("ok\n\n{% include 'other.jinja' %}");
  EXPECT_NE(e.find("line 3: unsupported construct '{% include %}'"), std::string::npos) << e;
  e = fails("{% extends 'base' %}");
  EXPECT_NE(e.find("line 1: unsupported construct '{% extends %}'"), std::string::npos) << e;
  e = fails("{% raw %}{{ x }}{% endraw %}");
  EXPECT_NE(e.find("unsupported construct 'raw'"), std::string::npos) << e;
  e = fails("a\n{{ raise_exception('Roles must alternate') }}");
  EXPECT_NE(e.find("line 2: raise_exception: Roles must alternate"), std::string::npos) << e;
  e = fails("{% if true %}never closed");
  EXPECT_NE(e.find("missing {% endif %}"), std::string::npos) << e;
  e = fails("{{ 'unterminated }}");
  EXPECT_NE(e.find("unterminated string literal"), std::string::npos) << e;
  e = fails("{{ message.content }}");
  EXPECT_NE(e.find("'message' is undefined"), std::string::npos) << e;
  e = fails("\n{{ frob(1) }}");
  EXPECT_NE(e.find("line 2: unsupported construct: unknown function 'frob'"), std::string::npos) << e;
  e = fails("{{ 'a' + 1 }}");
  EXPECT_NE(e.find("unsupported operand types for +: string and int"), std::string::npos) << e;
  e = fails("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}");
  EXPECT_NE(e.find("nested too deeply"), std::string::npos) << e;
  e = fails(std::string(5000, '{') + std::string(5000, '%'));
  EXPECT_FALSE(e.empty());
  e = fails("{% set x = 1 %}{% set x.y = 2 %}");
  EXPECT_NE(e.find("not a namespace()"), std::string::npos) << e;
}

TEST(jinja, provenance_survives_string_operations) {
  value content = value::make_string("  Hello world  ");
  content.runs.push_back({0, content.s.size(), 7, 0});
  auto p = jinja_parse("<{{ c | trim }}|{{ c.strip().split(' ')[1] }}|{{ c | upper }}>");
  ASSERT_TRUE(p.ok()) << p.message();
  render_input input;
  input.globals.emplace_back("c", content);
  auto out = jinja_render(*p, input);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out->text, "<Hello world|world|  HELLO WORLD  >");
  ASSERT_EQ(out->runs.size(), 2u);  // upper() makes new text: no provenance
  EXPECT_EQ(out->text.substr(out->runs[0].begin, out->runs[0].end - out->runs[0].begin), "Hello world");
  EXPECT_EQ(out->runs[0].origin, 7);
  EXPECT_EQ(out->runs[0].origin_offset, 2u);
  EXPECT_EQ(out->text.substr(out->runs[1].begin, out->runs[1].end - out->runs[1].begin), "world");
  EXPECT_EQ(out->runs[1].origin_offset, 8u);
}

}  // namespace
}  // namespace smelt::jinja
