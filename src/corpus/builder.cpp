// The corpus run loop. Requests live in "slots" walked by a cursor in plan order: answers may arrive
// in any order (the pool runs them concurrently), but they are checked, deduplicated and written only
// when the cursor reaches them, so the output never depends on timing. A run is a list of phases,
// recorded in the journal ("phase-N": the target per unit); a later run with a larger target adds a
// phase instead of changing the requests of the earlier ones. Each phase is round 0 (ask for what is
// missing) then top-up rounds for units still short, with the accepted questions to avoid.
#include "corpus/builder.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/text.h"
#include "corpus/answer_support.h"
#include "corpus/grounding.h"
#include "corpus/journal.h"
#include "corpus/salvage.h"
#include "corpus/template_generator.h"
#include "dataset/chat.h"
#include "dataset/dedup.h"
#include "dataset/validate.h"
#include "extract/chunk.h"
#include "llm/llm_pool.h"

namespace smelt {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

fs::path corpus_sibling(const fs::path& out, const std::string& suffix) {
  fs::path p = out;
  std::string name = out.filename().string();
  if (text_ends_with(name, ".jsonl")) name.resize(name.size() - 6);
  return p.replace_filename(name + suffix);
}

namespace {

// An output file that is verified line by line against what the run produces and appended to.
class line_file {
 public:
  line_file() = default;
  line_file(const line_file&) = delete;
  line_file& operator=(const line_file&) = delete;
  ~line_file() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads the existing lines; a torn last line (no newline: killed mid-write) is cut off.
  // keep_lines: when set, lines past it are cut off too (provenance longer than its output).
  status open(const fs::path& path, std::optional<size_t> keep_lines = std::nullopt) {
    path_ = path;
    std::string data;
    if (fs::exists(path)) {
      auto read = file_read(path);
      if (!read.ok()) return read.err();
      data = std::move(*read);
    }
    size_t pos = 0, good_end = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string::npos) {
        log_warn("{}: last line was cut off (interrupted write); it is dropped and rewritten", path.string());
        break;
      }
      if (keep_lines && lines_.size() >= *keep_lines) break;
      lines_.emplace_back(data, pos, nl - pos);
      pos = nl + 1;
      good_end = pos;
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return make_error(fmt::format("{}: cannot open for writing: {}", path.string(), std::strerror(errno)));
    if (good_end != data.size() && ::ftruncate(fd_, static_cast<off_t>(good_end)) != 0)
      return make_error(
          fmt::format("{}: cannot cut the torn last line: {}", path.string(), std::strerror(errno)));
    if (::lseek(fd_, 0, SEEK_END) < 0)
      return make_error(fmt::format("{}: cannot seek: {}", path.string(), std::strerror(errno)));
    return {};
  }

  const std::vector<std::string>& existing() const { return lines_; }

  // One write() per line, so a kill leaves whole lines (or a torn tail that open() drops).
  status append(const std::string& line) {
    std::string text = line + "\n";
    size_t written = 0;
    while (written < text.size()) {
      ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return make_error(fmt::format("{}: write failed: {}", path_.string(), std::strerror(errno)));
      written += static_cast<size_t>(n);
    }
    return {};
  }

  void sync() {
    if (fd_ >= 0) ::fdatasync(fd_);
  }

 private:
  fs::path path_;
  int fd_ = -1;
  std::vector<std::string> lines_;
};

enum class slot_state { waiting, queued, in_flight, journalling, ready, failed };

struct slot {
  plan_request request;
  slot_state state = slot_state::waiting;
  bool replayed = false;
  bool last_of_unit = false;  // the unit's last request in its round
  std::string content;
  std::string finish_reason;
  std::string error;
};

struct completion {
  size_t slot;
  result<chat_response> answer;
};

class corpus_run {
 public:
  corpus_run(const corpus_plan& plan, const corpus_options& options) : plan_(plan), opt_(options) {}
  result<corpus_report> run();

 private:
  status open_files();
  result<std::vector<std::map<std::string, size_t>>> load_phases();
  void run_phase(int phase, const std::map<std::string, size_t>& targets);
  void add_slots(size_t unit, int phase, int round, size_t count, std::vector<size_t>& list);
  void launch(size_t index);
  void pump();
  void wait_completion();
  // Takes one finished request; its journal record is appended to records (written by the caller).
  void handle(completion& c, std::vector<std::pair<std::string, nlohmann::json>>& records);
  void process(size_t index);
  void accept_item(size_t index, const qa_item& item, size_t& taken);
  void reject(size_t unit, const std::string& reason, const std::string& detail, const std::string& question);
  void stop(const std::string& why, const std::string& message);
  std::string settings_hash() const;

  const corpus_plan& plan_;
  const corpus_options& opt_;
  std::optional<journal> journal_;
  line_file out_, provenance_;
  size_t committed_ = 0;
  dedup_index dedup_;
  size_t dedup_next_ = 0;
  std::vector<std::vector<std::string>> questions_;  // accepted per unit
  std::vector<size_t> asked_, accepted_, wanted_;
  std::vector<std::vector<qa_item>> template_items_;  // per unit, made on first use
  std::vector<size_t> template_next_;
  std::vector<bool> template_made_;
  std::deque<slot> slots_;  // deque: indexes and references stay valid as slots are added
  std::deque<size_t> send_queue_;
  std::unique_ptr<llm_pool> pool_;
  std::mutex mutex_;  // guards done_ (filled by pool callbacks)
  std::condition_variable done_ready_;
  std::deque<completion> done_;
  int outstanding_ = 0;
  bool stopping_ = false;
  bool halted_ = false;  // an output file could not be written or differs: nothing more is committed
  long long tokens_used_ = 0;
  std::unique_ptr<progress> bar_;
  corpus_report report_;
};

std::string corpus_run::settings_hash() const {
  const plan_settings& s = opt_.settings;
  const corpus_checks& c = opt_.checks;
  // The answer-support threshold counts only when it is not the default, so journals written before
  // answers without quotes were grounded keep their settings hash and still resume.
  std::string answer_rule = c.answer_support_threshold == corpus_checks{}.answer_support_threshold
                                ? std::string()
                                : fmt::format(" answer={}", c.answer_support_threshold);
  return journal_key(
      {s.trigger, s.spec.system_template, s.spec.user_template,
       s.spec.format == prompt_answer_format::json_fields ? "json_fields" : "seed_messages", s.model,
       plan_sampling_string(s.spec),
       fmt::format("ppr={} whole={} cap={} chunk={} language={} quote={}", s.spec.pairs_per_request,
                   s.spec.whole_document, s.spec.char_cap, s.chunk_size, s.language, s.spec.require_quote),
       opt_.generator == corpus_generator::llm ? "llm" : "template",
       fmt::format("grounding={} {} q={}-{} a={}-{} topup={}{}", c.grounding, c.grounding_threshold,
                   c.question_min_chars, c.question_max_chars, c.answer_min_chars, c.answer_max_chars,
                   opt_.topup_rounds, answer_rule)});
}

status corpus_run::open_files() {
  auto j = journal::open(corpus_sibling(opt_.out, ".journal.jsonl"));
  if (!j.ok()) return j.err();
  journal_.emplace(std::move(*j));
  if (journal_->torn_lines_dropped())
    log_warn("{}: dropped a torn last line (interrupted write)",
             corpus_sibling(opt_.out, ".journal.jsonl").string());
  if (auto s = out_.open(opt_.out); !s.ok()) return s;
  if (auto s = provenance_.open(corpus_sibling(opt_.out, ".provenance.jsonl"), out_.existing().size());
      !s.ok())
    return s;
  return {};
}

result<std::vector<std::map<std::string, size_t>>> corpus_run::load_phases() {
  std::vector<std::map<std::string, size_t>> phases;
  const std::string journal_name = corpus_sibling(opt_.out, ".journal.jsonl").string();
  const std::string hash = settings_hash();
  for (int g = 0;; ++g) {
    const nlohmann::json* rec = journal_->find(fmt::format("phase-{}", g));
    if (!rec) break;
    if (!rec->contains("settings") || (*rec)["settings"] != hash)
      return make_error(fmt::format(
          "{}: {} was built with other settings (trigger, prompt, model, sampling, chunk size, generator or "
          "checks); rerun with those settings, or use another --out to start a new corpus",
          journal_name, opt_.out.string()));
    std::map<std::string, size_t> targets;
    if (rec->contains("targets") && (*rec)["targets"].is_object())
      for (auto it = (*rec)["targets"].begin(); it != (*rec)["targets"].end(); ++it)
        targets[it.key()] = it.value().get<size_t>();
    phases.push_back(std::move(targets));
  }
  if (phases.empty() && !out_.existing().empty())
    return make_error(
        fmt::format("{} already has {} lines but no journal ({}) says how they were made; use "
                    "another --out, or move the file away",
                    opt_.out.string(), out_.existing().size(), journal_name));
  std::map<std::string, size_t> cumulative;
  for (const auto& p : phases)
    for (const auto& [k, v] : p) cumulative[k] = std::max(cumulative[k], v);
  std::map<std::string, size_t> unit_index;
  for (size_t i = 0; i < plan_.units.size(); ++i) unit_index[plan_.units[i].key] = i;
  for (const auto& [k, v] : cumulative)
    if (!unit_index.count(k))
      return make_error(fmt::format(
          "{}: {} holds pairs from text that is not in this run's documents (a document changed or was "
          "left out); rerun with the same documents, or use another --out",
          journal_name, opt_.out.string()));
  // A new phase when some unit now wants more than all earlier phases asked for.
  std::map<std::string, size_t> next;
  bool grows = false;
  for (const auto& u : plan_.units) {
    size_t before = cumulative.count(u.key) ? cumulative[u.key] : 0;
    if (u.quota > before) grows = true;
    if (std::max(before, u.quota) > 0) next[u.key] = std::max(before, u.quota);
  }
  if (grows) {
    nlohmann::json targets = nlohmann::json::object();
    for (const auto& [k, v] : next) targets[k] = v;
    auto s =
        journal_->append(fmt::format("phase-{}", phases.size()), {{"settings", hash}, {"targets", targets}});
    if (!s.ok()) return s.err();
    phases.push_back(std::move(next));
  }
  return phases;
}

void corpus_run::stop(const std::string& why, const std::string& message) {
  if (stopping_) return;
  stopping_ = true;
  report_.stop = why;
  report_.message = message;
  if (why == "cancelled" && pool_) pool_->cancel();
}

void corpus_run::add_slots(size_t unit, int phase, int round, size_t count, std::vector<size_t>& list) {
  std::vector<size_t> parts = plan_split_count(count, opt_.settings.spec.pairs_per_request);
  for (size_t p = 0; p < parts.size(); ++p) {
    slot s;
    s.request = plan_render_request(plan_, opt_.settings, unit, phase, round, static_cast<int>(p), parts[p],
                                    questions_[unit]);
    s.last_of_unit = p + 1 == parts.size();
    slots_.push_back(std::move(s));
    list.push_back(slots_.size() - 1);
    ++report_.requests_planned;
    launch(slots_.size() - 1);
  }
}

void corpus_run::launch(size_t index) {
  slot& s = slots_[index];
  if (opt_.generator == corpus_generator::template_rules) {
    s.state = slot_state::ready;
    return;
  }
  if (const nlohmann::json* rec = journal_->find(s.request.key)) {
    s.state = slot_state::ready;
    s.replayed = true;
    s.content = rec->value("content", "");
    s.finish_reason = rec->value("finish_reason", "");
    ++report_.requests_replayed;
    return;
  }
  s.state = slot_state::queued;
  send_queue_.push_back(index);
}

void corpus_run::pump() {
  if (opt_.cancel && opt_.cancel->load())
    stop("cancelled", "interrupted; everything finished so far is saved");
  if (opt_.budget_tokens > 0 && tokens_used_ >= opt_.budget_tokens)
    stop("budget", fmt::format("token budget reached ({} of {} tokens used); rerun to continue", tokens_used_,
                               opt_.budget_tokens));
  const prompt_spec& spec = opt_.settings.spec;
  while (!stopping_ && outstanding_ < std::max(1, opt_.llm.concurrency) && !send_queue_.empty()) {
    size_t index = send_queue_.front();
    send_queue_.pop_front();
    slot& s = slots_[index];
    chat_request request;
    request.messages = s.request.messages;
    request.temperature = spec.temperature;
    request.top_p = spec.top_p;
    request.frequency_penalty = spec.frequency_penalty;
    request.max_tokens = spec.max_tokens;
    s.state = slot_state::in_flight;
    ++outstanding_;
    pool_->submit(std::move(request), [this, index](result<chat_response> answer) {
      std::lock_guard lock(mutex_);
      done_.push_back({index, std::move(answer)});
      done_ready_.notify_one();
    });
  }
}

void corpus_run::wait_completion() {
  std::deque<completion> batch;
  {
    std::unique_lock lock(mutex_);
    done_ready_.wait_for(lock, std::chrono::milliseconds(200), [this] { return !done_.empty(); });
    batch.swap(done_);
  }
  // Journal the whole batch with one fsync, then refill the pool at once: with many requests in
  // flight, answers arrive in bursts, and an fsync per answer kept new requests waiting.
  std::vector<std::pair<std::string, nlohmann::json>> records;
  for (completion& c : batch) handle(c, records);
  if (auto saved = journal_->append_many(records); !saved.ok()) stop("failed", saved.message());
  for (completion& c : batch)
    if (slots_[c.slot].state == slot_state::journalling) slots_[c.slot].state = slot_state::ready;
  if (pool_) pump();
  if (opt_.cancel && opt_.cancel->load())
    stop("cancelled", "interrupted; everything finished so far is saved");
}

void corpus_run::handle(completion& c, std::vector<std::pair<std::string, nlohmann::json>>& records) {
  --outstanding_;
  slot& s = slots_[c.slot];
  if (!c.answer.ok()) {
    if (c.answer.message() == "cancelled") {
      s.state = slot_state::waiting;  // never answered; a rerun sends it
      return;
    }
    s.state = slot_state::failed;
    s.error = c.answer.message();
    ++report_.requests_failed;
    stop("failed", s.error);
    return;
  }
  chat_response& r = *c.answer;
  long long in = r.prompt_tokens, out = r.completion_tokens;
  if (in == 0 && out == 0) {
    for (const auto& m : s.request.messages) in += static_cast<long long>(chunk_estimate_tokens(m.content));
    out = static_cast<long long>(chunk_estimate_tokens(r.content));
    ++report_.usage_estimated;
  }
  report_.tokens_in += in;
  report_.tokens_out += out;
  tokens_used_ += in + out;
  ++report_.requests_sent;
  const plan_unit& u = plan_.units[s.request.unit];
  nlohmann::json record = {{"unit", u.key},
                           {"chunk_id", u.chunk_id},
                           {"phase", s.request.phase},
                           {"round", s.request.round},
                           {"part", s.request.part},
                           {"count", s.request.count},
                           {"content", r.content},
                           {"finish_reason", r.finish_reason},
                           {"prompt_tokens", r.prompt_tokens},
                           {"completion_tokens", r.completion_tokens},
                           {"model", r.model}};
  records.emplace_back(s.request.key, std::move(record));
  s.content = std::move(r.content);
  s.finish_reason = std::move(r.finish_reason);
  s.state = slot_state::journalling;  // ready once the batch's journal write is on disk
}

void corpus_run::reject(size_t unit, const std::string& reason, const std::string& detail,
                        const std::string& question) {
  const plan_unit& u = plan_.units[unit];
  ++report_.rejections[reason];
  report_.rejected.push_back({plan_.documents[u.document].file, u.chunk_id, reason, detail, question});
}

void corpus_run::process(size_t index) {
  slot& s = slots_[index];
  size_t unit = s.request.unit;
  asked_[unit] += s.request.count;
  std::vector<qa_item> items;
  if (opt_.generator == corpus_generator::template_rules) {
    if (!template_made_[unit]) {
      const plan_unit& u = plan_.units[unit];
      template_language lang = opt_.settings.language == "zh"   ? template_language::zh
                               : opt_.settings.language == "en" ? template_language::en
                                                                : template_language::auto_detect;
      template_items_[unit] =
          template_generate(plan_.documents[u.document].doc, u.begin, u.begin + u.text.size(), lang);
      template_made_[unit] = true;
    }
    auto& all = template_items_[unit];
    for (size_t k = 0; k < s.request.count && template_next_[unit] < all.size(); ++k)
      items.push_back(all[template_next_[unit]++]);
  } else {
    salvage_result parsed = salvage_parse(s.content);
    for (const auto& p : parsed.problems)
      reject(unit, p.find("cut off") != std::string::npos ? "cut_off" : "malformed",
             s.finish_reason == "length" ? p + " (finish_reason=length)" : p, "");
    items = std::move(parsed.items);
  }
  size_t taken = 0;
  for (const qa_item& item : items) {
    if (halted_) break;
    accept_item(index, item, taken);
  }
}

void corpus_run::accept_item(size_t index, const qa_item& item, size_t& taken) {
  const slot& s = slots_[index];
  size_t unit = s.request.unit;
  const plan_unit& u = plan_.units[unit];
  const corpus_checks& checks = opt_.checks;
  std::string question(text_trim(item.question)), answer(text_trim(item.answer)),
      quote(text_trim(item.quote));
  if (taken >= s.request.count) return reject(unit, "over_quota", "more pairs than asked for", question);
  size_t qn = utf8_length(question), an = utf8_length(answer);
  if (qn < checks.question_min_chars || qn > checks.question_max_chars)
    return reject(
        unit, "question_length",
        fmt::format("{} characters, outside {}-{}", qn, checks.question_min_chars, checks.question_max_chars),
        question);
  if (an < checks.answer_min_chars || an > checks.answer_max_chars)
    return reject(
        unit, "answer_length",
        fmt::format("{} characters, outside {}-{}", an, checks.answer_min_chars, checks.answer_max_chars),
        question);
  std::optional<grounding_match> where;
  if (!quote.empty()) where = grounding_find(quote, u.text, checks.grounding_threshold);
  bool must_ground = checks.grounding && opt_.settings.spec.require_quote &&
                     opt_.settings.spec.format == prompt_answer_format::json_fields;
  // An answer without a quote (e.g. a model that answered in {"messages":...} lines) is grounded by
  // its own content instead; a quote that was given must be found.
  std::optional<answer_support> support;
  if (must_ground && quote.empty()) {
    support = answer_support_measure(answer, u.text, checks.answer_support_threshold);
    if (!support->found)
      return reject(unit, "answer_unsupported",
                    fmt::format("no quote, and the answer is not supported by chunk {}: {} of {} content "
                                "units found (support {:.2f}, needs more than {:.2f}): {}",
                                u.chunk_id, support->supported, support->units, support->score,
                                checks.answer_support_threshold, answer),
                    question);
  }
  if (must_ground && where && !where->found)
    return reject(unit, "ungrounded",
                  fmt::format("quote not found in chunk {} (best match score {:.2f}, threshold {:.2f}): {}",
                              u.chunk_id, where->score, checks.grounding_threshold, quote),
                  question);
  chat_example example;
  example.messages = {{"system", opt_.settings.trigger}, {"user", question}, {"assistant", answer}};
  std::string line = chat_example_to_line(example);
  std::vector<problem> problems;
  validate_example(nlohmann::json::parse(line), committed_ + 1, *validate_profile_find("siliconflow"),
                   problems);
  for (const auto& p : problems)
    if (p.severity == problem_severity::error)
      return reject(unit, "invalid", problem_format(p, opt_.out.filename().string()), question);
  if (auto m = dedup_.add(question, dedup_next_++)) {
    return reject(unit, m->exact ? "duplicate" : "near_duplicate",
                  m->exact ? "same question as an accepted one"
                           : fmt::format("{:.2f} similar to an accepted question", m->similarity),
                  question);
  }
  const plan_document& d = plan_.documents[u.document];
  ojson prov;
  prov["line"] = committed_ + 1;
  prov["file"] = d.file;
  prov["pages"] = u.page_first ? ojson::array({u.page_first, u.page_last}) : ojson(nullptr);
  prov["heading"] = u.heading;
  prov["chunk_id"] = u.chunk_id;
  bool located = where && where->found;
  prov["begin"] = located ? ojson(u.begin + where->begin) : ojson(nullptr);
  prov["end"] = located ? ojson(u.begin + where->end) : ojson(nullptr);
  prov["quote"] = quote;
  const char* grounded_by = located ? "quote" : support ? "answer" : nullptr;
  prov["grounded_by"] = grounded_by ? ojson(grounded_by) : ojson(nullptr);
  prov["support"] = support ? ojson(std::round(support->score * 1000) / 1000) : ojson(nullptr);
  prov["model"] = opt_.generator == corpus_generator::llm ? opt_.settings.model : std::string("template");
  prov["prompt_hash"] = plan_prompt_hash(opt_.settings.spec);
  prov["generator"] = opt_.generator == corpus_generator::llm ? "llm" : "template";
  prov["request"] = s.request.key;
  std::string prov_line = prov.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  size_t i = committed_;
  if (i < out_.existing().size()) {
    if (out_.existing()[i] != line) {
      stop("failed",
           fmt::format("{}:{}: this line differs from what the journal replays (the file was edited, or "
                       "the documents or their order changed); nothing was rewritten. Move the file "
                       "away or use another --out",
                       opt_.out.string(), i + 1));
      halted_ = true;
      return;
    }
  } else if (auto w = out_.append(line); !w.ok()) {
    stop("failed", w.message());
    halted_ = true;
    return;
  }
  if (i >= provenance_.existing().size()) {
    if (auto w = provenance_.append(prov_line); !w.ok()) {
      stop("failed", w.message());
      halted_ = true;
      return;
    }
  }
  ++committed_;
  ++taken;
  ++report_.grounded_by[grounded_by ? grounded_by : "none"];
  ++accepted_[unit];
  questions_[unit].push_back(question);
}

void corpus_run::run_phase(int phase, const std::map<std::string, size_t>& targets) {
  std::vector<size_t> list;
  size_t units_with_work = 0;
  for (size_t i = 0; i < plan_.units.size(); ++i) {
    auto it = targets.find(plan_.units[i].key);
    wanted_[i] = it == targets.end() ? 0 : it->second;
    if (wanted_[i] > accepted_[i]) ++units_with_work;
  }
  if (units_with_work == 0) return;
  if (opt_.show_progress) bar_ = std::make_unique<progress>("chunks", units_with_work);
  for (size_t i = 0; i < plan_.units.size(); ++i)
    if (wanted_[i] > accepted_[i]) add_slots(i, phase, 0, wanted_[i] - accepted_[i], list);
  size_t total_accepted = 0;
  for (size_t a : accepted_) total_accepted += a;
  for (int round = 0; !list.empty(); ++round) {
    std::vector<size_t> next;
    for (size_t k = 0; k < list.size();) {
      if (pool_) pump();
      slot& s = slots_[list[k]];
      if (s.state == slot_state::ready) {
        size_t before = committed_;
        process(list[k]);
        total_accepted += committed_ - before;
        if (halted_) return;
        size_t unit = s.request.unit;
        if (s.last_of_unit) {
          if (accepted_[unit] < wanted_[unit] && round < opt_.topup_rounds) {
            add_slots(unit, phase, round + 1, wanted_[unit] - accepted_[unit], next);
          } else if (bar_) {
            bar_->advance(1, fmt::format("{} pairs accepted", total_accepted));
          }
        }
        ++k;
        continue;
      }
      if (s.state == slot_state::failed) return;
      if (stopping_ && s.state != slot_state::in_flight) return;
      if (s.state == slot_state::waiting) return;  // unreachable: only a cancel leaves a slot unsent
      wait_completion();
    }
    list = std::move(next);
  }
  if (bar_) {
    bar_->finish();
    bar_.reset();
  }
}

result<corpus_report> corpus_run::run() {
  auto start = std::chrono::steady_clock::now();
  if (auto s = open_files(); !s.ok()) return s.err();
  auto phases = load_phases();
  if (!phases.ok()) return phases.err();
  size_t n = plan_.units.size();
  questions_.assign(n, {});
  asked_.assign(n, 0);
  accepted_.assign(n, 0);
  wanted_.assign(n, 0);
  template_items_.assign(n, {});
  template_next_.assign(n, 0);
  template_made_.assign(n, false);
  report_.generator = opt_.generator == corpus_generator::llm ? "llm" : "template";
  report_.model = opt_.generator == corpus_generator::llm ? opt_.settings.model : "template";
  report_.prompt = opt_.settings.spec.name;
  report_.prompt_hash = plan_prompt_hash(opt_.settings.spec);
  report_.concurrency = opt_.generator == corpus_generator::llm ? std::max(1, opt_.llm.concurrency) : 1;
  report_.price = opt_.price;
  report_.skipped = plan_.problems;
  if (opt_.generator == corpus_generator::llm) {
    llm_config config = opt_.llm;
    config.model = opt_.settings.model;
    config.cancel = opt_.cancel;
    pool_ = std::make_unique<llm_pool>(config);
  }
  for (size_t g = 0; g < phases->size() && !stopping_; ++g) run_phase(static_cast<int>(g), (*phases)[g]);
  if (bar_) {
    bar_->finish();
    bar_.reset();
  }
  // Let what is in flight land in the journal so no answer that was paid for is lost.
  while (outstanding_ > 0) wait_completion();
  if (pool_) {
    report_.peak_in_flight = pool_->stats().peak_in_flight;
    pool_.reset();
  }
  out_.sync();
  provenance_.sync();
  if (!stopping_ && committed_ < out_.existing().size())
    stop("failed",
         fmt::format("{} has {} lines but the journal reproduces only {}; the journal was edited or "
                     "cut. Nothing was rewritten; use another --out",
                     opt_.out.string(), out_.existing().size(), committed_));
  for (size_t d = 0; d < plan_.documents.size(); ++d) {
    corpus_coverage c;
    c.file = plan_.documents[d].file;
    for (size_t i = 0; i < n; ++i) {
      if (plan_.units[i].document != d) continue;
      ++c.chunks;
      c.pairs_wanted += std::max(wanted_[i], plan_.units[i].quota);
      c.pairs_asked += asked_[i];
      c.pairs_accepted += accepted_[i];
    }
    report_.documents.push_back(std::move(c));
  }
  size_t wanted = 0, accepted = 0;
  for (const corpus_coverage& c : report_.documents) wanted += c.pairs_wanted, accepted += c.pairs_accepted;
  if (!stopping_ && wanted > 0 && accepted == 0) {
    report_.stop = "nothing_accepted";
    report_.message =
        corpus_report_nothing_accepted(report_, corpus_sibling(opt_.out, ".report.json").string(),
                                       corpus_sibling(opt_.out, ".journal.jsonl").string());
  }
  report_.lines_total = std::max(committed_, out_.existing().size());
  report_.lines_new = committed_ > out_.existing().size() ? committed_ - out_.existing().size() : 0;
  report_.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto written = file_write_atomic(corpus_sibling(opt_.out, ".report.json"),
                                   corpus_report_to_json(report_).dump(2) + "\n");
  if (!written.ok()) log_error("{}", written.message());
  return report_;
}

}  // namespace

result<corpus_report> corpus_build(const corpus_plan& plan, const corpus_options& options) {
  corpus_run run(plan, options);
  return run.run();
}

}  // namespace smelt
