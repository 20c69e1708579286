// Evaluator::evaluate: the rules up to the first that depends on the recipient run
// once; with several recipients the rest runs once per recipient (run.h, Run), each
// from a copy of the verdict so far; recipients with the same outcome share one.
#include <algorithm>
#include <chrono>

#include "vm/run.h"

namespace mp::vm {

Evaluator::Evaluator(ProgramPtr program) : program_(std::move(program)), scratch_(new Scratch) {
  hs_scratch_t* scratch = nullptr;
  auto fit = [&scratch](const HsDatabase& db) {
    if (hs_alloc_scratch(db.get(), &scratch) != HS_SUCCESS)
      throw std::runtime_error("cannot allocate Hyperscan scratch");
  };
  for (const auto& databases : program_->loaded().field_db) {
    for (const auto& db : databases.every_value) fit(db);
    for (const auto& [header, dbs] : databases.by_header) {
      for (const auto& db : dbs) fit(db);
    }
  }
  scratch_->hs.reset(scratch);
}

Evaluator::~Evaluator() = default;

namespace {

std::vector<std::string> describe_defects(const runtime::Message& message) {
  const auto kinds = message.defect_kinds();  // examines the whole message first
  std::vector<std::string> out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (!kinds.test(i)) continue;
    const auto kind = static_cast<runtime::DefectKind>(i);
    std::string line(runtime::defect_name(kind));
    for (const auto& defect : message.defects()) {
      if (defect.kind == kind) {
        line += ": " + defect.text;
        break;
      }
    }
    out.push_back(std::move(line));
  }
  return out;
}

Direction direction_of(const Program::Loaded& loaded, MessageFields& fields) {
  const auto& sender_domain = fields.values(FieldId::SenderDomain).text;
  const auto& client = fields.values(FieldId::ClientIp).ips;
  bool ours = !sender_domain.empty() && loaded.org_domains.contains(sender_domain[0]);
  bool authorised = !client.empty() && loaded.sending_servers.contains(client[0]);
  if (!ours || !authorised) return Direction::Inbound;
  for (const auto& domain : fields.values(FieldId::RecipientDomain).text) {
    if (!loaded.org_domains.contains(domain)) return Direction::Outbound;
  }
  return Direction::Internal;
}

// Runs `run` from `first_rule`, turning a failure into the verdict's tempfail; true
// when it stopped at `stop_rule`.
bool execute_guarded(Run& run, Verdict& verdict, uint8_t direction_bit, uint32_t first_rule,
                     uint32_t stop_rule) {
  try {
    return run.execute(direction_bit, first_rule, stop_rule);
  } catch (const VmError& e) {
    // Only a hand-made image can get here (the compiler never emits such code):
    // fail safe by holding the message rather than delivering it.
    verdict.action = Action::Tempfail;
    verdict.text = std::string("451 4.3.0 policy evaluation error: ") + e.what();
  } catch (const FactUnavailable& missing) {
    // facts.on_temperror = tempfail: a rule needed a fact that could not be computed,
    // so no verdict can be trusted yet; the sender retries later.
    verdict.action = Action::Tempfail;
    std::string_view detail = missing.fact.detail;  // a merged fact's detail may name it again
    if (detail.starts_with(missing.fact.name + ": ")) detail.remove_prefix(missing.fact.name.size() + 2);
    verdict.text = "451 4.4.3 temporary failure computing " + missing.fact.name + ": " + std::string(detail);
    verdict.rule.reset();
    run.note_fact_failure(missing.fact);
  }
  return false;
}

void add_outcome(std::vector<RecipientVerdict>& outcomes, std::string recipient, Verdict&& verdict) {
  for (RecipientVerdict& o : outcomes) {
    if (!same_outcome(o.verdict, verdict)) continue;
    o.recipients.push_back(std::move(recipient));
    return;
  }
  outcomes.push_back({{std::move(recipient)}, std::move(verdict)});
}

}  // namespace

bool same_outcome(const Verdict& a, const Verdict& b) {
  auto rewrite = [](const Verdict& v) {
    return v.url_rewrite ? std::pair(v.url_rewrite->target, v.url_rewrite->skip_domains)
                         : std::pair(std::string(), std::vector<std::string>());
  };
  return a.action == b.action && a.text == b.text && a.rule == b.rule && a.fact == b.fact &&
         a.score == b.score && a.tags == b.tags && a.banners == b.banners && rewrite(a) == rewrite(b) &&
         a.added_headers == b.added_headers && a.removed_headers == b.removed_headers && a.logs == b.logs;
}

Verdict Evaluator::evaluate(const runtime::Message& message, const runtime::Envelope& envelope,
                            FactSource* facts) {
  Scratch& s = *scratch_;
  s.patterns.reset(program_->image().patterns.size());
  s.sets.reset(program_->image().sets.size());
  s.binding.fill(-1);
  s.stack.clear();
  s.loops.clear();

  const auto& loaded = program_->loaded();
  if (facts && !loaded.facts_used.empty()) facts->prefetch(loaded.facts_used);
  MessageFields fields(message, envelope, loaded.trusted_relays, facts,
                       program_->image().settings.on_temperror, loaded.facts_used);
  fields.set_archive_limits(program_->image().settings.archive_limits);
  MatchState matches(*program_, s.hs.get(), fields, s.patterns, s.sets);
  Verdict verdict;
  verdict.direction = direction_of(program_->loaded(), fields);
  const auto direction_bit = static_cast<uint8_t>(1u << static_cast<unsigned>(verdict.direction));
  // The rules up to the first that depends on the recipient run once; with several
  // recipients, the rest runs once per recipient, each from a copy of the verdict so far.
  const uint32_t split = loaded.split_rule;
  const size_t recipients = split < loaded.rules.size() ? fields.item_count(Collection::Recipients) : 0;
  // Folded once, and only for a policy that has something per recipient.
  auto address_of = [&](uint32_t i) { return std::string(fields.values(FieldId::Recipient).text[i]); };
  auto for_recipient = [&](Run& run, uint32_t i) {
    const std::string address = address_of(i);
    run.set_recipient(i, address, recipient_groups(program_->image().settings.groups, address));
  };
  const double now =
      clock_ ? clock_()
             : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Run run(*program_, matches, fields, s, verdict, trace_);
  run.set_now(now);
  if (recipients == 1) for_recipient(run, 0);
  if (execute_guarded(run, verdict, direction_bit, 0, recipients > 1 ? split : loaded.rules.size())) {
    std::vector<RecipientVerdict> outcomes;
    for (uint32_t i = 0; i < recipients; ++i) {
      Verdict own = verdict;
      Run continued(*program_, matches, fields, s, own, trace_);
      continued.set_now(now);
      for_recipient(continued, i);
      continued.set_allow_pending(run.allow_pending());
      execute_guarded(continued, own, direction_bit, split, loaded.rules.size());
      add_outcome(outcomes, address_of(i), std::move(own));
    }
    verdict = outcomes.front().verdict;
    if (outcomes.size() > 1) verdict.per_recipient = std::move(outcomes);
  }
  verdict.facts = fields.fact_reports();
  if (trace_) {
    verdict.defects = describe_defects(message);
    if (matches.finish_pcre2())  // as message.defects would read it
      verdict.defects.push_back(std::string(runtime::defect_name(runtime::DefectKind::RegexLimitExceeded)) +
                                ": PCRE2 gave up on some value (regex.match_limit or regex.budget_ms)");
  }
  for (RecipientVerdict& o : verdict.per_recipient) {
    o.verdict.facts = verdict.facts;
    o.verdict.defects = verdict.defects;
  }
  return verdict;
}

std::string_view outcome_name(RuleOutcome outcome) {
  switch (outcome) {
    case RuleOutcome::Fired: return "fired";
    case RuleOutcome::NotMatched: return "false";
    case RuleOutcome::SkippedDirection: return "skipped (direction)";
    case RuleOutcome::SkippedPrefilter: return "false (prefilter)";
    case RuleOutcome::FactUnavailable: return "stopped (fact unavailable)";
    case RuleOutcome::SkippedAllowed: return "skipped (allowed)";
    case RuleOutcome::SkippedScope: return "skipped (scope)";
    case RuleOutcome::SkippedExpired: return "skipped (expired)";
  }
  return "?";
}

}  // namespace mp::vm
