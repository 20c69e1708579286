/* embed.c: evaluate messages with libmailpolicy's C API (mailpolicy.h), as a mail
 * gateway embedding the library would.
 *
 *   embed POLICY.pbc|POLICY.mp [--client-ip IP] [--sender A] [--rcpt A]... [--helo H]
 *         MESSAGE...
 *
 * POLICY is an image written by `policyc build` or, when its name ends in ".mp", a
 * policy source compiled on the spot. The envelope flags apply to every MESSAGE. One
 * line per message:
 *
 *   FILE: ACTION [CODE STATUS TEXT] rule=STAGE.RULE|- score=S | NAME: VALUE | ...
 *
 * with the SMTP reply for reject and tempfail, and the result headers the gateway
 * would add (X-Policy-Verdict, X-Policy-Score, X-Policy-Rule, Authentication-Results).
 * Exit status: 0 when every message was judged, 1 on an error (its message on
 * stderr), 2 for a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailpolicy.h>

static void usage(void) {
  fprintf(stderr,
          "usage: embed POLICY.pbc|POLICY.mp [--client-ip IP] [--sender A] [--rcpt A]... [--helo H] "
          "MESSAGE...\n");
  exit(2);
}

static int ends_with(const char *text, const char *suffix) {
  size_t n = strlen(text), m = strlen(suffix);
  return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* The whole file in a malloc'ed buffer (*size bytes); NULL when it cannot be read. */
static char *read_file(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  char *bytes = NULL, *grown = NULL;
  size_t capacity = 0, wanted, n;
  *size = 0;
  if (file == NULL) return NULL;
  do {
    if (*size == capacity) {
      wanted = capacity ? 2 * capacity : 65536;
      if ((grown = realloc(bytes, wanted)) == NULL) break; /* out of memory */
      bytes = grown;
      capacity = wanted;
    }
    n = fread(bytes + *size, 1, capacity - *size, file);
    *size += n;
  } while (n > 0);
  if (ferror(file) || grown == NULL) {
    free(bytes);
    bytes = NULL;
  }
  fclose(file);
  return bytes;
}

static const char *const kFlags[] = {"--client-ip", "--sender", "--rcpt", "--helo"};

/* The index of `arg` in kFlags, or -1 when it is not an envelope flag. */
static int flag_index(const char *arg) {
  int k;
  for (k = 0; k < (int)(sizeof kFlags / sizeof kFlags[0]); ++k) {
    if (strcmp(arg, kFlags[k]) == 0) return k;
  }
  return -1;
}

/* Sets the envelope from the flags of argv (wherever they stand: the envelope applies
 * to every message); returns the number of messages named. */
static int read_envelope(mp_envelope *envelope, int argc, char **argv) {
  mp_status (*const setters[])(mp_envelope *, const char *, mp_error *) = {
      mp_envelope_set_client_ip, mp_envelope_set_sender, mp_envelope_add_recipient, mp_envelope_set_helo};
  mp_error err;
  int i, k, messages = 0;
  for (i = 2; i < argc; ++i) {
    k = flag_index(argv[i]);
    if (k < 0 && strncmp(argv[i], "--", 2) == 0) usage();
    if (k < 0) {
      ++messages;
      continue;
    }
    if (++i >= argc) usage();
    if (setters[k](envelope, argv[i], &err) != MP_OK) {
      fprintf(stderr, "embed: %s %s: %s\n", kFlags[k], argv[i], err.message);
      exit(2);
    }
  }
  return messages;
}

/* A header value on one line: Authentication-Results is folded ("\r\n\t" before each
 * method), and the folding becomes one space. */
static void print_unfolded(const char *value) {
  for (; *value != '\0'; ++value) {
    if (*value != '\r' && *value != '\n') putchar(*value == '\t' ? ' ' : *value);
  }
}

static void print_verdict(const char *file, const mp_verdict *v) {
  mp_action action = mp_verdict_action(v);
  const char *rule = mp_verdict_rule(v);
  size_t i;
  printf("%s: %s", file, mp_action_name(action));
  if (action == MP_ACTION_REJECT || action == MP_ACTION_TEMPFAIL) {
    printf(" [%d %s %s]", mp_verdict_smtp_code(v), mp_verdict_smtp_status(v), mp_verdict_smtp_text(v));
  }
  if (rule != NULL) {
    printf(" rule=%s.%s", mp_verdict_stage(v), rule);
  } else {
    printf(" rule=-");
  }
  printf(" score=%g", mp_verdict_score(v));
  for (i = 0; i < mp_verdict_result_header_count(v); ++i) {
    mp_header header;
    if (mp_verdict_result_header(v, i, &header) != MP_OK) continue;
    printf(" | %s: ", header.name);
    print_unfolded(header.value);
  }
  printf("\n");
}

/* Judges one message file and prints its line; 0 when done, 1 on an error. */
static int judge(mp_evaluator *evaluator, const mp_envelope *envelope, const char *file) {
  mp_error err;
  size_t size;
  char *message = read_file(file, &size);
  mp_verdict *verdict;
  if (message == NULL) {
    fprintf(stderr, "embed: cannot read %s\n", file);
    return 1;
  }
  verdict = mp_evaluate(evaluator, message, size, envelope, &err);
  free(message);
  if (verdict == NULL) {
    fprintf(stderr, "embed: %s: %s\n", file, err.message);
    return 1;
  }
  print_verdict(file, verdict);
  mp_verdict_free(verdict);
  return 0;
}

int main(int argc, char **argv) {
  mp_error err;
  mp_program *program;
  mp_evaluator *evaluator;
  mp_envelope *envelope = mp_envelope_new();
  int i, status = 0;

  if (argc < 3 || envelope == NULL || read_envelope(envelope, argc, argv) == 0) usage();
  program = ends_with(argv[1], ".mp") ? mp_program_compile_file(argv[1], &err)
                                      : mp_program_load_file(argv[1], &err);
  if (program == NULL) {
    fprintf(stderr, "embed: %s\n", err.message);
    return 1;
  }
  /* No config: the defaults (DNS from /etc/resolv.conf, facts on). One evaluator per
   * thread; this program has one thread. */
  evaluator = mp_evaluator_new(program, NULL, &err);
  mp_program_free(program); /* the evaluator keeps what it needs */
  if (evaluator == NULL) {
    fprintf(stderr, "embed: %s\n", err.message);
    return 1;
  }
  for (i = 2; i < argc; ++i) {
    if (flag_index(argv[i]) >= 0) {
      ++i; /* and its value */
      continue;
    }
    status |= judge(evaluator, envelope, argv[i]);
  }
  mp_evaluator_free(evaluator);
  mp_envelope_free(envelope);
  return status;
}
