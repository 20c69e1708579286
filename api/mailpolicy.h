/* mailpolicy.h: the stable C API of libmailpolicy.
 *
 *   mp_error err;
 *   mp_program *program = mp_program_load_file("policy.pbc", &err);   // once
 *   mp_config *config = mp_config_new();                              // once
 *   mp_config_set(config, "dns.servers", "127.0.0.1:5353", &err);
 *   mp_evaluator *ev = mp_evaluator_new(program, config, &err);       // one per thread
 *   mp_envelope *env = mp_envelope_new();                             // one per message
 *   mp_envelope_set_client_ip(env, "192.0.2.1", &err);
 *   mp_envelope_set_sender(env, "a@example.org", &err);
 *   mp_envelope_add_recipient(env, "b@widget.com", &err);
 *   mp_verdict *v = mp_evaluate(ev, bytes, size, env, &err);
 *   if (v == NULL) { ... err.code, err.message: the message was not judged ... }
 *   else if (mp_verdict_action(v) == MP_ACTION_REJECT)
 *     printf("%d %s %s\n", mp_verdict_smtp_code(v), mp_verdict_smtp_status(v), mp_verdict_smtp_text(v));
 *   mp_verdict_free(v); ...
 *
 * Rules of the API:
 *  - No global state: everything lives in the handles. A program and a config are
 *    immutable once evaluators use them and may be shared by threads; an evaluator,
 *    an envelope and a verdict belong to one thread at a time.
 *  - Every fallible function takes an `mp_error *` (may be NULL) and reports failure
 *    by its return value (NULL or an mp_status other than MP_OK) with err->code and a
 *    one-line err->message. No C++ exception ever crosses this API.
 *  - Strings are NUL-terminated UTF-8. A `const char *` a getter returns stays valid
 *    until the handle it came from is freed. Freeing NULL is a no-op.
 *  - Handles are independent: freeing a program while evaluators still use it is
 *    safe (they keep what they need).
 */
#ifndef MAILPOLICY_H
#define MAILPOLICY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MP_EXPORT __attribute__((visibility("default")))
#else
#define MP_EXPORT
#endif

/* The version of this header's API; mp_api_version() returns the library's. */
#define MP_API_VERSION 1

typedef enum mp_status {
  MP_OK = 0,
  MP_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, an unknown config key, a bad value */
  MP_ERR_IO = 2,               /* a file cannot be read */
  MP_ERR_BAD_IMAGE = 3,        /* not an image, wrong version, corrupt, fails verification */
  MP_ERR_COMPILE = 4,          /* the policy source has errors (message: the first) */
  MP_ERR_TOO_LARGE = 5,        /* the message is over the config's limits.max_message_bytes */
  MP_ERR_INTERNAL = 6,         /* an unexpected failure (a bug): the message is not judged */
  MP_ERR_UNAVAILABLE = 7       /* the state store does not answer (Redis down or slow, LMDB full) */
} mp_status;

typedef struct mp_error {
  mp_status code;
  char message[512]; /* one line, NUL-terminated, cut at 511 bytes */
} mp_error;

/* The verdict's action (language.md, section 10). */
typedef enum mp_action {
  MP_ACTION_DELIVER = 0,    /* no rule decided: deliver */
  MP_ACTION_ALLOW = 1,      /* a rule allowed it: deliver, later stages skipped */
  MP_ACTION_REJECT = 2,     /* refuse with a 5xx reply */
  MP_ACTION_QUARANTINE = 3, /* accept and hold (the text is the reason) */
  MP_ACTION_DISCARD = 4,    /* accept and drop silently */
  MP_ACTION_TEMPFAIL = 5    /* refuse with a 4xx reply: the client retries later */
} mp_action;

typedef struct mp_program mp_program;
typedef struct mp_config mp_config;
typedef struct mp_evaluator mp_evaluator;
typedef struct mp_envelope mp_envelope;
typedef struct mp_verdict mp_verdict;

/* "0.1.0": the library's version; and its MP_API_VERSION. */
MP_EXPORT const char *mp_version(void);
MP_EXPORT int mp_api_version(void);

/* ---- Programs: a compiled policy, verified, shareable by threads ------------------ */

/* An image (the bytes `policyc build` writes), `size` bytes. Returns NULL with
 * MP_ERR_BAD_IMAGE when it is not a valid, verified image. The bytes are copied. */
MP_EXPORT mp_program *mp_program_load(const void *image, size_t size, mp_error *err);
/* The image file at `path`: MP_ERR_IO when unreadable, else as mp_program_load. */
MP_EXPORT mp_program *mp_program_load_file(const char *path, mp_error *err);
/* Compiles the policy source at `path` (list files relative to its directory):
 * MP_ERR_COMPILE with the first error as "file:line:col: error[E…]: text"; MP_ERR_IO
 * when the policy or one of its list files cannot be read (the same form, E050). */
MP_EXPORT mp_program *mp_program_compile_file(const char *path, mp_error *err);
/* The first 16 hex digits of the image's SHA-256: names the policy version in logs. */
MP_EXPORT const char *mp_program_id(const mp_program *program);
MP_EXPORT void mp_program_free(mp_program *program);

/* ---- Configuration: how facts are computed, and the limits ------------------------ *
 * Keys (values are strings; numbers in decimal):
 *   dns.servers            DNS servers for facts, "IP[:PORT]" separated by spaces or
 *                          commas, "[v6]:PORT" for IPv6. Default "": /etc/resolv.conf.
 *   dns.timeout_ms         wait for one DNS answer, per try (1..60000; default 2000).
 *   facts                  "on" | "off": off computes no fact (spf, dnsbl(), ... have
 *                          no value) and sends no DNS question. Default on.
 *   facts.budget_ms        all DNS of one message (1..600000; default 10000); past it
 *                          every open question is a temperror.
 *   facts.max_queries      DNS questions on the wire per message (0: no limit;
 *                          default 200).
 *   geoip.path             a MaxMind DB for country(); opened at once (MP_ERR_IO).
 *   authserv_id            names this host in Authentication-Results (RFC 8601 2.5;
 *                          default "mailpolicy").
 *   limits.max_message_bytes  larger messages are not evaluated: MP_ERR_TOO_LARGE
 *                          (1..2147483647; default 67108864, 64 MiB).
 *   trace                  "on" | "off": record every rule's tests (mp_verdict_json
 *                          then has "trace" and "defects"; slower). Default off.
 * One DNS cache (answers kept for their TTL) is shared by every evaluator made from
 * the same config. Set keys before making evaluators: an evaluator copies the values. */
MP_EXPORT mp_config *mp_config_new(void);
MP_EXPORT mp_status mp_config_set(mp_config *config, const char *key, const char *value, mp_error *err);
MP_EXPORT void mp_config_free(mp_config *config);

/* ---- Evaluators: one per thread --------------------------------------------------- *
 * `config` may be NULL (the defaults above). Holds the program's per-thread scratch
 * and its own DNS resolver (sharing the config's cache). */
MP_EXPORT mp_evaluator *mp_evaluator_new(const mp_program *program, const mp_config *config, mp_error *err);
MP_EXPORT void mp_evaluator_free(mp_evaluator *evaluator);

/* ---- Envelopes: what the SMTP session told, as opposed to what the headers claim --- */

MP_EXPORT mp_envelope *mp_envelope_new(void);
/* client.ip: an IPv4 or IPv6 address ("::ffff:a.b.c.d" is read as IPv4); "" or NULL
 * clears it. MP_ERR_INVALID_ARGUMENT when it is not an address. */
MP_EXPORT mp_status mp_envelope_set_client_ip(mp_envelope *envelope, const char *ip, mp_error *err);
/* helo: the HELO/EHLO name. */
MP_EXPORT mp_status mp_envelope_set_helo(mp_envelope *envelope, const char *helo, mp_error *err);
/* sender: MAIL FROM (RFC 5321 4.1.1.2); "<a@b>" or "a@b"; "" or "<>" is the null sender. */
MP_EXPORT mp_status mp_envelope_set_sender(mp_envelope *envelope, const char *sender, mp_error *err);
/* recipients: one RCPT TO address ("<a@b>" or "a@b"), appended. */
MP_EXPORT mp_status mp_envelope_add_recipient(mp_envelope *envelope, const char *recipient, mp_error *err);
/* client.auth_user: the SASL login name (RFC 4954); "" or NULL: not authenticated. */
MP_EXPORT mp_status mp_envelope_set_auth_user(mp_envelope *envelope, const char *user, mp_error *err);
/* client.tls: the session's TLS version ("TLSv1.3"); "" or NULL: plain text. */
MP_EXPORT mp_status mp_envelope_set_tls_version(mp_envelope *envelope, const char *version, mp_error *err);
/* Forgets the sender and recipients (a new SMTP transaction, RFC 5321 4.1.4 RSET);
 * the client, HELO, login and TLS stay. */
MP_EXPORT mp_status mp_envelope_reset_transaction(mp_envelope *envelope, mp_error *err);
MP_EXPORT void mp_envelope_free(mp_envelope *envelope);

/* ---- Evaluation ------------------------------------------------------------------- *
 * Judges one message: `message` is its `size` bytes as received (RFC 5322, CRLF or
 * LF line ends; a malformed message is judged as far as it can be parsed). Computes
 * the facts rules read, with DNS, within facts.budget_ms. Returns a verdict, or NULL
 * when the message could not be judged (MP_ERR_TOO_LARGE, MP_ERR_INVALID_ARGUMENT,
 * MP_ERR_INTERNAL): the caller then applies its own fail-safe (tempfail or accept). */
MP_EXPORT mp_verdict *mp_evaluate(mp_evaluator *evaluator, const void *message, size_t size,
                                  const mp_envelope *envelope, mp_error *err);

/* ---- Feedback: what users and administrators say (docs/state.md) -------------------
 * The operations of `policyc report` and `policyc release`, for a web console, on the
 * state store of `config` (key `state`; none: MP_ERR_INVALID_ARGUMENT). A store that
 * does not answer: MP_ERR_UNAVAILABLE. Messages are `size` bytes as received.
 *  - mp_report: `kind` "fp" (a false positive: it was not spam; learnt as ham, the
 *    client's reputation reset to 0) or "fn" (a false negative: learnt as spam, the
 *    client's reputation raised by 10). `client_ip`: NULL or "" for none.
 *  - mp_release: a held message was wanted: learnt as ham; with `approve_sender` its
 *    From: addresses go on the safe list of each of the `count` recipients.
 *  - mp_list_add / mp_list_remove: one entry (an address, a domain or an IP address)
 *    of a safe or blocked list: `list` "safe" or "blocked", `scope` "org",
 *    "group:NAME" or "user:ADDRESS". mp_list_remove of an entry that is not there is
 *    MP_OK. A bad list, scope or entry: MP_ERR_INVALID_ARGUMENT. */
MP_EXPORT mp_status mp_report(const mp_config *config, const char *kind, const void *message, size_t size,
                              const char *client_ip, mp_error *err);
MP_EXPORT mp_status mp_release(const mp_config *config, const void *message, size_t size,
                               const char *const *recipients, size_t count, int approve_sender,
                               mp_error *err);
MP_EXPORT mp_status mp_list_add(const mp_config *config, const char *list, const char *scope,
                                const char *entry, mp_error *err);
MP_EXPORT mp_status mp_list_remove(const mp_config *config, const char *list, const char *scope,
                                   const char *entry, mp_error *err);

/* ---- Verdicts --------------------------------------------------------------------- */

MP_EXPORT mp_action mp_verdict_action(const mp_verdict *verdict);
/* "deliver", "allow", "reject", "quarantine", "discard", "tempfail". */
MP_EXPORT const char *mp_action_name(mp_action action);
/* The SMTP reply (RFC 5321 4.2, RFC 3463 enhanced status): for reject and tempfail
 * the code and status the rule's text starts with ("550 5.7.1 Refused" → 550,
 * "5.7.1", "Refused"; a text without a status gets 5.7.1 / 4.7.1); for the accepting
 * actions 250, "2.0.0" and "". */
MP_EXPORT int mp_verdict_smtp_code(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_smtp_status(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_smtp_text(const mp_verdict *verdict);
/* The action's text as the policy wrote it: the reply, or the quarantine reason; "". */
MP_EXPORT const char *mp_verdict_text(const mp_verdict *verdict);
/* The deciding rule: its stage, name and "file:line:col"; NULL when no rule decided
 * (deliver, or an action by score). For a tempfail by fact, the rule that read it. */
MP_EXPORT const char *mp_verdict_stage(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_rule(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_location(const mp_verdict *verdict);
/* For a tempfail because a fact could not be computed: the fact ("spf",
 * "dnsbl(\"zen.example\")"); else NULL. */
MP_EXPORT const char *mp_verdict_fact(const mp_verdict *verdict);
/* "inbound", "outbound" or "internal" (language.md, section 13). */
MP_EXPORT const char *mp_verdict_direction(const mp_verdict *verdict);
MP_EXPORT double mp_verdict_score(const mp_verdict *verdict);

/* Score contributions, in the order the rules added them. */
typedef struct mp_contribution {
  const char *stage;
  const char *rule;
  double delta;
  const char *reason;
} mp_contribution;
MP_EXPORT size_t mp_verdict_contribution_count(const mp_verdict *verdict);
/* Fills *out with contribution i (0-based): MP_ERR_INVALID_ARGUMENT when out of range. */
MP_EXPORT mp_status mp_verdict_contribution(const mp_verdict *verdict, size_t i, mp_contribution *out);

MP_EXPORT size_t mp_verdict_tag_count(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_tag(const mp_verdict *verdict, size_t i); /* NULL past the end */

/* Header edits. Three lists, each name/value in order:
 *  - added: the policy's own `add header` actions;
 *  - removed: field names the policy's `remove header` actions delete (every field of
 *    that name, ASCII case-insensitive);
 *  - result: what the gateway reports, X-Policy-Verdict, X-Policy-Score, X-Policy-Rule
 *    (docs/cli.md, --write-headers), and Authentication-Results (RFC 8601) when an
 *    authentication fact was computed; its value is folded, "\r\n\t" before each
 *    method ("mailpolicy;\r\n\tspf=pass smtp.mailfrom=a@b"). */
typedef struct mp_header {
  const char *name;
  const char *value;
} mp_header;
MP_EXPORT size_t mp_verdict_added_header_count(const mp_verdict *verdict);
MP_EXPORT mp_status mp_verdict_added_header(const mp_verdict *verdict, size_t i, mp_header *out);
MP_EXPORT size_t mp_verdict_removed_header_count(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_removed_header(const mp_verdict *verdict, size_t i);
MP_EXPORT size_t mp_verdict_result_header_count(const mp_verdict *verdict);
MP_EXPORT mp_status mp_verdict_result_header(const mp_verdict *verdict, size_t i, mp_header *out);

/* Body edits. The `banner` action's texts, in order, and the `rewrite urls` action's
 * link rewriting; for a message that is passed on (deliver, allow, quarantine) the
 * banners are put at the top of its text parts and its links rewritten
 * (runtime/body_edit.h: text/plain and text/html parts; signed or encrypted
 * multiparts and broken MIME structures are left alone).
 *  - mp_verdict_body: the new body, every byte after the header block's empty line,
 *    CRLF line ends when the message's header block has them; NULL (and *size 0)
 *    when the body is unchanged. Valid until mp_verdict_free. A milter passes it to
 *    smfi_replacebody.
 *  - changed headers: top-level fields that change with the new body
 *    (Content-Type, Content-Transfer-Encoding, MIME-Version), name and new unfolded
 *    value; replace the first field of that name, or add it when absent.
 *  - mp_verdict_body_note: why the body could not be edited ("signed or encrypted
 *    multipart: ...", "no inline text part", "no link to rewrite"); "" when it was
 *    or no edit was asked for. */
MP_EXPORT size_t mp_verdict_banner_count(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_banner(const mp_verdict *verdict, size_t i); /* NULL past the end */
MP_EXPORT const char *mp_verdict_body(const mp_verdict *verdict, size_t *size);
MP_EXPORT size_t mp_verdict_changed_header_count(const mp_verdict *verdict);
MP_EXPORT mp_status mp_verdict_changed_header(const mp_verdict *verdict, size_t i, mp_header *out);
MP_EXPORT const char *mp_verdict_body_note(const mp_verdict *verdict);
/* URL defense (the `rewrite urls` action): the target links were rewritten to, with
 * "{url}" standing for the original link, percent-encoded; NULL when no rule asked
 * for it. mp_verdict_urls_rewritten: how many links the new body (mp_verdict_body)
 * has rewritten, 0 when the body is unchanged. */
MP_EXPORT const char *mp_verdict_url_rewrite(const mp_verdict *verdict);
MP_EXPORT size_t mp_verdict_urls_rewritten(const mp_verdict *verdict);

/* How often the state store (docs/state.md) failed while this message was judged:
 * `facts`, state facts left without their value (or temperror, state.on_error);
 * `learning`, what the gateway learns from a verdict (reputation hits, Bayes
 * auto-learning) dropped, not queued. Both 0 without a store or for a NULL verdict;
 * policyd counts them in mailpolicy_state_errors_total. */
typedef struct mp_state_errors {
  size_t facts;
  size_t learning;
} mp_state_errors;
MP_EXPORT mp_state_errors mp_verdict_state_errors(const mp_verdict *verdict);

/* Per-recipient verdicts. Rules scoped to users or groups, and the recipients' own
 * sender lists (the `sender_list` fact), can give the recipients of one message
 * different verdicts. mp_verdict_split_count is then the number of different
 * outcomes (2 or more; 0 when every recipient got this verdict), mp_verdict_split(v, i)
 * the i-th (NULL past the end; owned by `verdict`, valid until mp_verdict_free), each a
 * whole verdict that every mp_verdict_* accessor reads: action, reply, headers, body.
 * `verdict` itself is then the outcome of the first recipient.
 * mp_verdict_recipient_count / mp_verdict_recipient: the recipients (folded
 * addresses, envelope order) a verdict or an outcome is for; NULL past the end.
 * A milter maps them on its transaction: docs/gateway.md, "Per-recipient verdicts". */
MP_EXPORT size_t mp_verdict_split_count(const mp_verdict *verdict);
MP_EXPORT const mp_verdict *mp_verdict_split(const mp_verdict *verdict, size_t i);
MP_EXPORT size_t mp_verdict_recipient_count(const mp_verdict *verdict);
MP_EXPORT const char *mp_verdict_recipient(const mp_verdict *verdict, size_t i);

/* Recipient classes, for a milter that keeps recipients of different policies in
 * different SMTP transactions (docs/gateway.md, "Per-recipient verdicts"). Two
 * recipients of one class get the same verdict for one message as far as can be known
 * at RCPT time: the same rules scoped to users and groups run for both, and their
 * sender lists (the `sender_list` fact) say the same of the envelope's sender and
 * client address; the From: field, not known yet, may still tell them apart.
 * Writes the class of `recipient` (an address, "<...>" accepted) for `envelope`'s
 * sender and client to *out: 0 for every recipient when no rule depends on the
 * recipient. A state store that cannot answer reads as empty lists.
 * MP_ERR_INVALID_ARGUMENT when an argument is NULL. */
MP_EXPORT mp_status mp_recipient_class(mp_evaluator *evaluator, const mp_envelope *envelope,
                                       const char *recipient, uint64_t *out, mp_error *err);

/* The facts computed for this message (only those some rule read). */
typedef struct mp_fact {
  const char *name;   /* "spf", "dnsbl(\"zen.example\")" */
  const char *value;  /* values joined by ", "; "" for no value; "temperror" */
  const char *detail; /* what decided it, or why it failed */
  int temp_error;     /* 1 when it could not be computed */
  double seconds;     /* wall time computing it (DNS included) */
} mp_fact;
MP_EXPORT size_t mp_verdict_fact_count(const mp_verdict *verdict);
MP_EXPORT mp_status mp_verdict_fact_at(const mp_verdict *verdict, size_t i, mp_fact *out);

/* The whole verdict as one JSON object, the keys of `policyc run --format json`
 * (docs/cli.md): action, rule, stage, location, fact, score, direction, text, tags,
 * banners, contributions, fired (with evidence), add_headers, remove_headers, log, auth,
 * facts; with config trace=on also trace and defects. "file" is "". */
MP_EXPORT const char *mp_verdict_json(const mp_verdict *verdict);
/* Wall time of mp_evaluate for this verdict: parsing, facts and rules. */
MP_EXPORT double mp_verdict_seconds(const mp_verdict *verdict);
MP_EXPORT void mp_verdict_free(mp_verdict *verdict);

#ifdef __cplusplus
}
#endif

#endif /* MAILPOLICY_H */
