// corpus_build against the scripted OpenAI stub server on 127.0.0.1: exact output and provenance for
// good answers; malformed, partial, reasoning-wrapped and cut-off answers; top-up of the shortfall
// with the avoid list; retries; the concurrency the server sees; dedup and grounding rejections;
// answers without quotes grounded by their own content; a run that accepts nothing; replay from the
// journal, appending a larger target, and refusing to rewrite a changed output.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>

#include "corpus/builder.h"
#include "corpus/plan.h"
#include "corpus/prompts.h"
#include "dataset/chat.h"
#include "support/openai_stub_server.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using json = nlohmann::json;
using test::openai_stub_server;
using test::stub_request;

const std::vector<std::string> names = {"apple",  "bridge", "candle", "dragon", "engine", "forest",
                                        "guitar", "harbor", "island", "jacket", "kettle", "lantern"};

// One section per name: "## The NAME" + "The NAME weighs K kilograms and is kept in room K."
document items_document(size_t n, const std::string& source = "items.md") {
  document doc;
  doc.source = source;
  for (size_t k = 0; k < n; ++k) {
    document_add_heading(doc, 2, "The " + names[k]);
    document_add_paragraph(
        doc, fmt::format("The {} weighs {} kilograms and is kept in room {}.", names[k], k + 1, k + 1));
  }
  return doc;
}

std::string user_text(const stub_request& r) {
  for (const auto& m : r.json["messages"])
    if (m["role"] == "user") return m["content"].get<std::string>();
  return "";
}

// Good, deterministic answers: pairs about the item named in the excerpt, as many as asked,
// skipping questions listed in the avoid block.
std::string item_answer(const stub_request& r) {
  std::string text = user_text(r);
  std::smatch m;
  std::regex_search(text, m, std::regex("The (\\w+) weighs (\\d+) kilograms"));
  std::string name = m[1], kg = m[2];
  std::regex_search(text, m, std::regex("Write (\\d+) question"));
  int count = std::stoi(m[1]);
  std::vector<json> pool = {
      {{"question", "How heavy is the " + name + "?"},
       {"answer", "The " + name + " weighs " + kg + " kilograms."},
       {"quote", "The " + name + " weighs " + kg + " kilograms"}},
      {{"question", "Which room keeps the " + name + "?"},
       {"answer", "Room " + kg + "."},
       {"quote", "is kept in room " + kg}},
      {{"question", "Tell me where I find the " + name + " and its weight"},
       {"answer", "Room " + kg + "; " + kg + " kilograms."},
       {"quote", "weighs " + kg + " kilograms and is kept in room " + kg}},
  };
  json out = json::array();
  for (const auto& p : pool)
    if (static_cast<int>(out.size()) < count &&
        text.find(p["question"].get<std::string>()) == std::string::npos)
      out.push_back(p);
  return out.dump();
}

struct build_fixture {
  openai_stub_server server;
  test::temp_dir dir;
  plan_settings settings;
  corpus_options options;
  std::shared_ptr<std::vector<double>> waits = std::make_shared<std::vector<double>>();

  build_fixture() {
    settings.spec = corpus_prompt_default();
    settings.trigger = "You are a storeroom clerk";
    settings.model = "stub-model";
    settings.chunk_size = 100;
    settings.quota = {quota_mode::per_chunk, 2};
    options.out = dir / "out.jsonl";
    options.llm.base_url = server.base_url();
    options.llm.concurrency = 2;
    options.llm.timeout_seconds = 10;
    auto w = waits;
    options.llm.sleep = [w](double s) { w->push_back(s); };
    options.show_progress = false;
  }
  corpus_plan plan(size_t items) {
    auto p = plan_from_documents({items_document(items)}, settings);
    EXPECT_TRUE(p.ok());
    return std::move(*p);
  }
  corpus_report build(const corpus_plan& p) {
    options.settings = settings;
    auto r = corpus_build(p, options);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : corpus_report{};
  }
  std::string out() const { return test::read_file(dir / "out.jsonl"); }
  std::vector<json> provenance() const {
    std::vector<json> lines;
    std::string text = test::read_file(dir / "out.provenance.jsonl");
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      lines.push_back(json::parse(text.substr(pos, nl - pos)));
      pos = nl + 1;
    }
    return lines;
  }
};

std::string line(const std::string& trigger, const std::string& q, const std::string& a) {
  chat_example e;
  e.messages = {{"system", trigger}, {"user", q}, {"assistant", a}};
  return chat_example_to_line(e) + "\n";
}

TEST(corpus_build, good_answers_give_exact_lines_and_provenance) {
  build_fixture f;
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_plan p = f.plan(2);
  ASSERT_EQ(p.units.size(), 2u);
  corpus_report report = f.build(p);
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "How heavy is the apple?", "The apple weighs 1 kilograms.") +
                         line(t, "Which room keeps the apple?", "Room 1.") +
                         line(t, "How heavy is the bridge?", "The bridge weighs 2 kilograms.") +
                         line(t, "Which room keeps the bridge?", "Room 2."));
  auto prov = f.provenance();
  ASSERT_EQ(prov.size(), 4u);
  const std::string& rendered = p.documents[0].rendered;
  for (size_t i = 0; i < prov.size(); ++i) {
    EXPECT_EQ(prov[i]["line"], i + 1);
    EXPECT_EQ(prov[i]["file"], "items.md");
    EXPECT_EQ(prov[i]["model"], "stub-model");
    EXPECT_EQ(prov[i]["generator"], "llm");
    EXPECT_EQ(prov[i]["prompt_hash"], plan_prompt_hash(f.settings.spec));
    size_t b = prov[i]["begin"], e = prov[i]["end"];
    EXPECT_EQ(rendered.substr(b, e - b), prov[i]["quote"].get<std::string>());
  }
  EXPECT_EQ(prov[0]["heading"], "The apple");
  EXPECT_EQ(prov[0]["chunk_id"], p.units[0].chunk_id);
  EXPECT_EQ(prov[2]["heading"], "The bridge");
  EXPECT_EQ(prov[0]["quote"], "The apple weighs 1 kilograms");
  EXPECT_EQ(prov[0]["request"], plan_render_request(p, f.settings, 0, 0, 0, 0, 2, {}).key);
  EXPECT_EQ(report.stop, "complete");
  EXPECT_EQ(report.requests_sent, 2u);
  EXPECT_EQ(report.requests_replayed, 0u);
  EXPECT_EQ(report.tokens_in, 22);  // the stub reports 11 in, 7 out per answer
  EXPECT_EQ(report.tokens_out, 14);
  EXPECT_EQ(report.lines_total, 4u);
  ASSERT_EQ(report.documents.size(), 1u);
  EXPECT_EQ(report.documents[0].pairs_accepted, 4u);
  EXPECT_TRUE(report.rejections.empty());
  // The request carries the spec's sampling parameters and the model.
  json body = f.server.requests()[0].json;
  EXPECT_EQ(body["model"], "stub-model");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(body["frequency_penalty"].get<double>(), 0.5);
  EXPECT_EQ(body["max_tokens"], 4096);
  // The report file is written too.
  json written = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(written["requests"]["sent"], 2);
  EXPECT_EQ(written["documents"][0]["pairs_accepted"], 4);
}

TEST(corpus_build, malformed_and_partial_answers_keep_the_valid_items) {
  build_fixture f;
  f.settings.quota = {quota_mode::per_chunk, 2};
  f.options.topup_rounds = 0;
  f.options.llm.concurrency = 1;
  // JSONL with a broken line between two good ones.
  f.server.enqueue(
      test::stub_completion("{\"question\": \"How heavy is the apple?\", \"answer\": \"1 kilogram.\", "
                            "\"quote\": \"weighs 1 kilograms\"}\n"
                            "{\"question\": \"Is the apple red?\", \"answer\": }\n"
                            "{\"question\": \"Which room keeps the apple?\", \"answer\": \"Room 1.\", "
                            "\"quote\": \"kept in room 1\"}"));
  corpus_report report = f.build(f.plan(1));
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "How heavy is the apple?", "1 kilogram.") +
                         line(t, "Which room keeps the apple?", "Room 1."));
  EXPECT_EQ(report.rejections.at("malformed"), 1u);
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].detail, "item 2: malformed JSON");
}

TEST(corpus_build, reasoning_is_stripped_before_parsing) {
  build_fixture f;
  f.options.llm.concurrency = 1;
  f.server.enqueue(
      test::stub_completion("<think>The user wants JSON. {\"question\": \"not this\"}</think>\n```json\n"
                            "[{\"question\": \"How heavy is the apple?\", \"answer\": \"1 kilogram.\", "
                            "\"quote\": \"weighs 1 kilograms\"},"
                            " {\"question\": \"Which room keeps the apple?\", \"answer\": \"Room 1.\", "
                            "\"quote\": \"kept in room 1\"}]\n```",
                            "stop", {{"reasoning_content", "I should count to two."}}));
  corpus_report report = f.build(f.plan(1));
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "How heavy is the apple?", "1 kilogram.") +
                         line(t, "Which room keeps the apple?", "Room 1."));
  EXPECT_EQ(report.requests_sent, 1u);
  EXPECT_TRUE(report.rejections.empty());
}

TEST(corpus_build, cut_off_answer_drops_the_tail_and_tops_up_only_the_shortfall) {
  build_fixture f;
  f.settings.quota = {quota_mode::per_chunk, 3};
  f.options.llm.concurrency = 1;
  f.server.enqueue(
      test::stub_completion("[{\"question\": \"How heavy is the apple?\", \"answer\": \"1 kilogram.\", "
                            "\"quote\": \"weighs 1 kilograms\"},"
                            " {\"question\": \"Which room keeps the apple?\", \"answer\": \"Room 1.\", "
                            "\"quote\": \"kept in room 1\"},"
                            " {\"question\": \"Is the apple heavy?\", \"answ",
                            "length"));
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_report report = f.build(f.plan(1));
  auto requests = f.server.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::string topup = user_text(requests[1]);
  EXPECT_NE(topup.find("Write 1 question-answer pairs"), std::string::npos) << topup;
  EXPECT_NE(topup.find("- How heavy is the apple?"), std::string::npos) << topup;
  EXPECT_NE(topup.find("- Which room keeps the apple?"), std::string::npos) << topup;
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "How heavy is the apple?", "1 kilogram.") +
                         line(t, "Which room keeps the apple?", "Room 1.") +
                         line(t, "Tell me where I find the apple and its weight", "Room 1; 1 kilograms."));
  EXPECT_EQ(report.rejections.at("cut_off"), 1u);
  EXPECT_EQ(report.documents[0].pairs_asked, 4u);
  EXPECT_EQ(report.documents[0].pairs_accepted, 3u);
}

TEST(corpus_build, retries_429_with_retry_after_500s_and_a_dropped_connection_then_succeeds) {
  build_fixture f;
  f.options.llm.concurrency = 1;
  f.server.enqueue(test::stub_error(429, "rate limited", "7"));
  f.server.enqueue(test::stub_error(500, "oops"));
  f.server.enqueue(test::stub_error(503, "busy"));
  f.server.enqueue(test::stub_drop());  // connection closed without an answer
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_report report = f.build(f.plan(1));
  EXPECT_EQ(report.stop, "complete");
  EXPECT_EQ(f.server.request_count(), 5u);
  ASSERT_EQ(f.waits->size(), 4u);
  EXPECT_DOUBLE_EQ((*f.waits)[0], 7.0);  // Retry-After honoured
  EXPECT_EQ(report.documents[0].pairs_accepted, 2u);
  EXPECT_EQ(report.requests_sent, 1u);
  EXPECT_EQ(report.requests_failed, 0u);
}

TEST(corpus_build, server_sees_exactly_the_configured_concurrency) {
  build_fixture f;
  f.options.llm.concurrency = 4;
  f.server.set_script(
      [](const stub_request& r) { return test::stub_delayed(test::stub_completion(item_answer(r)), 0.3); });
  corpus_plan p = f.plan(12);
  ASSERT_EQ(p.units.size(), 12u);
  corpus_report report = f.build(p);
  EXPECT_EQ(f.server.request_count(), 12u);
  EXPECT_EQ(f.server.peak_in_flight(), 4);
  EXPECT_EQ(report.peak_in_flight, 4);
  EXPECT_EQ(report.lines_total, 24u);
  // Plan order, whatever the completion order: line 2k+1 is about names[k].
  std::string out = f.out();
  size_t pos = 0;
  for (size_t k = 0; k < 12; ++k) {
    size_t at = out.find("How heavy is the " + names[k] + "?", pos);
    ASSERT_NE(at, std::string::npos) << names[k];
    pos = at;
  }
}

TEST(corpus_build, duplicates_and_ungrounded_quotes_are_rejected_with_reasons) {
  build_fixture f;
  f.settings.quota = {quota_mode::per_chunk, 3};
  f.options.topup_rounds = 0;
  f.options.llm.concurrency = 1;
  f.server.enqueue(test::stub_completion(json::array({
                                                         {{"question", "How heavy is the apple?"},
                                                          {"answer", "1 kilogram."},
                                                          {"quote", "weighs 1 kilograms"}},
                                                         {{"question", "How heavy is the apple ?!"},
                                                          {"answer", "One kilogram."},
                                                          {"quote", "weighs 1 kilograms"}},
                                                         {{"question", "What colour is the apple?"},
                                                          {"answer", "Red."},
                                                          {"quote", "The apple is bright red"}},
                                                     })
                                             .dump()));
  f.server.enqueue(test::stub_completion(json::array({
                                                         {{"question", "How heavy is the bridge really?"},
                                                          {"answer", "2."},
                                                          {"quote", "weighs 2 kilograms"}},
                                                         {{"question", "How heavy is the bridge, really?"},
                                                          {"answer", "2 kg."},
                                                          {"quote", "weighs 2 kilograms"}},
                                                         {{"question", "Which room keeps the bridge?"},
                                                          {"answer", "Room 7, next to the loading dock."},
                                                          {"quote", ""}},
                                                     })
                                             .dump()));
  corpus_report report = f.build(f.plan(2));
  EXPECT_EQ(report.lines_total, 2u);
  EXPECT_EQ(report.rejections.at("duplicate"), 2u);  // punctuation-only differences normalize away
  EXPECT_EQ(report.rejections.at("ungrounded"), 1u);
  EXPECT_EQ(report.rejections.at("answer_unsupported"), 1u);  // no quote, and not in the chunk either
  ASSERT_EQ(report.rejected.size(), 4u);
  EXPECT_EQ(report.rejected[0].reason, "duplicate");
  EXPECT_EQ(report.rejected[0].question, "How heavy is the apple ?!");
  EXPECT_EQ(report.rejected[1].reason, "ungrounded");
  EXPECT_EQ(report.rejected[1].question, "What colour is the apple?");
  EXPECT_NE(report.rejected[1].detail.find("quote not found in chunk"), std::string::npos);
  EXPECT_EQ(report.rejected[3].reason, "answer_unsupported");

  // --no-grounding keeps the invented quote (offsets then null).
  build_fixture g;
  g.settings.quota = {quota_mode::per_chunk, 1};
  g.options.checks.grounding = false;
  g.server.enqueue(test::stub_completion(json::array({{{"question", "What colour is the apple?"},
                                                       {"answer", "Red."},
                                                       {"quote", "The apple is bright red"}}})
                                             .dump()));
  corpus_report loose = g.build(g.plan(1));
  EXPECT_EQ(loose.lines_total, 1u);
  EXPECT_TRUE(g.provenance()[0]["begin"].is_null());
}

// One {"messages": [...]} line, as the seed workflow's prompt asks for: no quote.
std::string messages_line(const std::string& question, const std::string& answer) {
  return json({{"messages",
                {{{"role", "system"}, {"content", "x"}},
                 {{"role", "user"}, {"content", question}},
                 {{"role", "assistant"}, {"content", answer}}}}})
             .dump() +
         "\n";
}

TEST(corpus_build, answers_without_quotes_are_grounded_by_their_own_content) {
  build_fixture f;
  f.settings.quota = {quota_mode::per_chunk, 3};
  f.options.topup_rounds = 0;
  f.options.llm.concurrency = 1;
  // The default prompt asks for quotes; this model answers in messages lines, with one quoted item.
  f.server.enqueue(test::stub_completion(
      messages_line("How heavy is the apple?", "The apple weighs 1 kilograms.") +
      messages_line("What colour is the apple?", "The apple is bright red and grows in Spain.") +
      json({{"question", "Which room keeps the apple?"}, {"answer", "Room 1."}, {"quote", "kept in room 1"}})
          .dump()));
  corpus_plan p = f.plan(1);
  corpus_report report = f.build(p);
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "How heavy is the apple?", "The apple weighs 1 kilograms.") +
                         line(t, "Which room keeps the apple?", "Room 1."));
  auto prov = f.provenance();
  ASSERT_EQ(prov.size(), 2u);
  EXPECT_EQ(prov[0]["grounded_by"], "answer");
  EXPECT_EQ(prov[0]["quote"], "");
  EXPECT_TRUE(prov[0]["begin"].is_null());
  EXPECT_DOUBLE_EQ(prov[0]["support"].get<double>(), 0.8);  // apple weigh 1 kilogram: 4 / (4 + 1)
  EXPECT_EQ(prov[1]["grounded_by"], "quote");
  EXPECT_TRUE(prov[1]["support"].is_null());
  EXPECT_EQ(report.stop, "complete");
  EXPECT_EQ(report.grounded_by.at("answer"), 1u);
  EXPECT_EQ(report.grounded_by.at("quote"), 1u);
  EXPECT_EQ(report.rejections.at("answer_unsupported"), 1u);
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].question, "What colour is the apple?");
  EXPECT_EQ(report.rejected[0].detail,
            "no quote, and the answer is not supported by chunk " + p.units[0].chunk_id +
                ": 1 of 5 content units found (support 0.17, needs more than 0.50): The apple is bright red "
                "and grows in Spain.");
  json written = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(written["grounded_by"], json({{"answer", 1}, {"quote", 1}}));
  EXPECT_EQ(written["rejections"]["answer_unsupported"], 1);
}

TEST(corpus_build, a_run_that_accepts_nothing_names_the_main_reason_and_what_to_change) {
  build_fixture f;
  f.options.topup_rounds = 0;
  f.server.set_script([](const stub_request&) {
    return test::stub_completion(
        messages_line("Is the storeroom open at night?", "Only on Sundays, from 8 pm.") +
        messages_line("Who runs the storeroom?", "Mrs Lee, the head clerk."));
  });
  corpus_report report = f.build(f.plan(2));
  EXPECT_EQ(f.out(), "");
  EXPECT_EQ(report.stop, "nothing_accepted");
  EXPECT_EQ(report.rejections.at("answer_unsupported"), 4u);
  EXPECT_EQ(report.message,
            "0 of 4 wanted pairs accepted; most rejections: answer_unsupported (4) — the answers brought no "
            "quote and most of their content is not in their chunk: use a prompt that asks for a \"quote\" "
            "copied from the text (the default prompt does) or a model that keeps to the text; "
            "lower --answer-support, or --no-grounding to keep such pairs unchecked; every rejection is "
            "listed in " +
                (f.dir / "out.report.json").string());
  json written = json::parse(test::read_file(f.dir / "out.report.json"));
  EXPECT_EQ(written["stop"], "nothing_accepted");
  EXPECT_EQ(written["message"], report.message);

  // Answers with no pair in them at all: nothing is rejected, the journal holds what came back.
  build_fixture g;
  g.options.topup_rounds = 0;
  g.server.set_script([](const stub_request&) { return test::stub_completion("Sorry, I cannot help."); });
  corpus_report prose = g.build(g.plan(1));
  EXPECT_EQ(prose.stop, "nothing_accepted");
  EXPECT_EQ(prose.message,
            "0 of 2 wanted pairs accepted; the answers held no question/answer pairs — use a prompt that "
            "asks for a JSON array of {\"question\", \"answer\", \"quote\"} objects (the default prompt "
            "does) or another model; the answers are in " +
                (g.dir / "out.journal.jsonl").string());
}

TEST(corpus_build, near_duplicates_across_chunks_are_rejected) {
  build_fixture f;
  f.settings.quota = {quota_mode::per_chunk, 1};
  f.options.topup_rounds = 0;
  f.options.llm.concurrency = 1;
  f.server.enqueue(
      test::stub_completion(json::array({{{"question", "How often should the storeroom be inspected?"},
                                          {"answer", "Monthly."},
                                          {"quote", "weighs 1 kilograms"}}})
                                .dump()));
  f.server.enqueue(
      test::stub_completion(json::array({{{"question", "How often should the storeroom be inspectd?"},
                                          {"answer", "Monthly."},
                                          {"quote", "weighs 2 kilograms"}}})
                                .dump()));
  corpus_report report = f.build(f.plan(2));
  EXPECT_EQ(report.lines_total, 1u);
  EXPECT_EQ(report.rejections.at("near_duplicate"), 1u);
}

TEST(corpus_build, rerun_replays_the_journal_and_a_larger_target_appends_only_the_difference) {
  build_fixture f;
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_plan p = f.plan(3);
  f.build(p);
  std::string first = f.out();
  size_t sent = f.server.request_count();
  ASSERT_EQ(sent, 3u);

  corpus_report again = f.build(p);
  EXPECT_EQ(f.server.request_count(), sent);  // nothing sent
  EXPECT_EQ(again.requests_replayed, 3u);
  EXPECT_EQ(again.lines_new, 0u);
  EXPECT_EQ(f.out(), first);

  f.settings.quota = {quota_mode::per_chunk, 3};
  corpus_plan bigger = f.plan(3);
  corpus_report more = f.build(bigger);
  EXPECT_EQ(more.requests_replayed, 3u);  // the original requests keep their keys
  EXPECT_EQ(more.requests_sent, 3u);      // one top-up per chunk for the difference
  EXPECT_EQ(more.lines_new, 3u);
  std::string grown = f.out();
  ASSERT_EQ(grown.substr(0, first.size()), first);
  EXPECT_NE(grown.find("Tell me where I find the candle and its weight"), std::string::npos);
  EXPECT_EQ(f.provenance().size(), 9u);
}

TEST(corpus_build, a_changed_output_line_is_never_rewritten) {
  build_fixture f;
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_plan p = f.plan(2);
  f.build(p);
  std::string text = f.out();
  text.replace(text.find("Room 1."), 7, "Room 9.");
  test::write_file(f.dir / "out.jsonl", text);
  corpus_report report = f.build(p);
  EXPECT_EQ(report.stop, "failed");
  EXPECT_EQ(report.message,
            (f.dir / "out.jsonl").string() +
                ":2: this line differs from what the journal replays (the file was edited, or the "
                "documents or their order changed); nothing was rewritten. Move the file away or "
                "use another --out");
  EXPECT_EQ(f.out(), text);
}

TEST(corpus_build, other_settings_on_the_same_output_are_refused) {
  build_fixture f;
  f.server.set_script([](const stub_request& r) { return test::stub_completion(item_answer(r)); });
  corpus_plan p = f.plan(1);
  f.build(p);
  f.settings.trigger = "You are someone else";
  f.options.settings = f.settings;
  auto r = corpus_build(p, f.options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("was built with other settings"), std::string::npos) << r.message();
}

TEST(corpus_build, a_failed_request_stops_with_everything_before_it_saved) {
  build_fixture f;
  f.options.llm.concurrency = 1;
  f.server.set_script([](const stub_request& r) {
    if (user_text(r).find("candle") != std::string::npos)
      return test::stub_error(404, "model does not exist");
    return test::stub_completion(item_answer(r));
  });
  corpus_report report = f.build(f.plan(3));
  EXPECT_EQ(report.stop, "failed");
  EXPECT_NE(report.message.find("HTTP 404"), std::string::npos) << report.message;
  EXPECT_EQ(report.lines_total, 4u);  // apple and bridge
  EXPECT_EQ(report.requests_failed, 1u);
}

TEST(corpus_build, seed_preset_reads_messages_lines_and_uses_one_request_per_document) {
  build_fixture f;
  f.settings.spec = corpus_prompt_dify_seed();
  f.settings.quota = {quota_mode::per_chunk, 2};
  f.options.llm.concurrency = 1;
  f.server.set_script([](const stub_request& r) {
    return test::stub_completion(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": "
        "\"苹果有多重？\"}, "
        "{\"role\": \"assistant\", \"content\": \"一公斤。\"}]}\n"
        "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": "
        "\"桥放在哪里？\"}, "
        "{\"role\": \"assistant\", \"content\": \"二号房间。\"}]}\n");
  });
  corpus_report report = f.build(f.plan(3));
  ASSERT_EQ(f.server.request_count(), 1u);
  json body = f.server.requests()[0].json;
  ASSERT_EQ(body["messages"].size(), 1u);  // the seed sends one system message holding the text
  EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("The candle weighs 3 kilograms"),
            std::string::npos);
  const std::string t = "You are a storeroom clerk";
  EXPECT_EQ(f.out(), line(t, "苹果有多重？", "一公斤。") + line(t, "桥放在哪里？", "二号房间。"));
  EXPECT_EQ(report.lines_total, 2u);
}

}  // namespace
}  // namespace smelt
