#!/usr/bin/env python3
"""SpamAssassin, rspamd and policyc over the same messages, one core each, in one run.

Called by bench/peers/run (which installs the three). Steps:
  1. import SpamAssassin's installed rules (policyc import spamassassin) and build them;
  2. policyc run over the sample, pinned to one core;
  3. SpamAssassin in one process (bench/peers/sa_check.pl), local tests only, twice: with
     its full rule set, and restricted to the rules the importer translated (every other
     scored rule set to 0);
  4. rspamd with one scanning worker and its network modules off (bench/peers/rspamd),
     fed by rspamc from the other core;
  5. prints messages per CPU second for each and the ratios, verdict agreement of policyc
     with restricted SpamAssassin, and per-rule hit agreement for its 20 most frequent
     rules; writes everything to build/peers.json.
Messages per CPU second is the CPU time of the filtering process alone (user + system),
without loading or compiling rules: the throughput of one core. policyc and rspamd are
measured three times and their median taken (a shared machine's noise is ±30 %);
SpamAssassin, at minutes a pass, once.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import statistics
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICYC = ROOT / "build/bin/policyc"
SA_RULES = Path("/usr/share/spamassassin")
SCAN_CORE, FEED_CORE = "0", str(min(1, os.cpu_count() - 1))


def sample(corpus, every):
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith("cmds"))
    return [str(p) for p in files[::every]]


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    """Runs cmd pinned to the scanning core; returns (stdout, its CPU seconds)."""
    before = child_cpu()
    out = subprocess.run(["taskset", "-c", SCAN_CORE] + cmd, check=True, stdout=subprocess.PIPE, **kw).stdout
    return out, child_cpu() - before


def import_and_build(work):
    policy, report, image = work / "sa.mp", work / "sa.report", work / "sa.mpi"
    t = time.monotonic()
    subprocess.run([POLICYC, "import", "spamassassin", SA_RULES, "-o", policy, "--report", report],
                   check=True, stderr=subprocess.DEVNULL)
    imported = time.monotonic() - t
    t = time.monotonic()
    subprocess.run([POLICYC, "build", policy, "-o", image], check=True)
    built = time.monotonic() - t
    untranslated = [line.split(": ")[1] for line in report.read_text().splitlines() if line.startswith("/")]
    (work / "zero").write_text("\n".join(untranslated) + "\n")
    scoring = sum(1 for line in policy.read_text().splitlines() if line.strip().startswith("rule "))
    return image, {"import_seconds": imported, "build_seconds": built, "scoring_rules": scoring,
                   "untranslated": len(untranslated)}


def run_policyc(image, files):
    # The image load is measured alone on one message and taken off.
    _, one = timed([POLICYC, "run", image, files[0], "--format", "json"])
    runs = [timed([POLICYC, "run", image, *files, "--format", "json"]) for _ in range(3)]
    out, cpu = runs[0][0], statistics.median(r[1] for r in runs)
    verdicts = {}
    for line in out.decode().splitlines():
        v = json.loads(line)
        verdicts[v["file"]] = {"spam": v["action"] in ("quarantine", "reject"), "score": v["score"],
                               "hits": sorted({c["rule"] for c in v["contributions"]})}
    return verdicts, max(cpu - one, 1e-9)


def run_spamassassin(files, zero_file):
    out, _ = timed(["/usr/bin/perl", ROOT / "bench/peers/sa_check.pl", SA_RULES, zero_file, *files])
    verdicts, cpu = {}, None
    for line in out.decode().splitlines():
        v = json.loads(line)
        if "cpu_seconds" in v:
            cpu = v["cpu_seconds"]
        else:
            verdicts[v["file"]] = {"spam": v["spam"], "score": v["score"], "hits": v["hits"]}
    return verdicts, cpu


def worker_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rspamc(port, files):
    subprocess.run(["taskset", "-c", FEED_CORE, "rspamc", "-h", f"127.0.0.1:{port}", "-n", "4", "-j", *files],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_rspamd(files, work, port=11390):
    state = work / "rspamd"
    state.mkdir()
    cmd = ["rspamd", "-f", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf",
           f"--var=LOCAL_CONFDIR={ROOT / 'bench/peers/rspamd'}", f"--var=DBDIR={state}", f"--var=RUNDIR={state}",
           f"--var=LOGDIR={state}", f"--var=PEERS_PORT={port}"]
    main = subprocess.Popen(["taskset", "-c", SCAN_CORE] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1).read().strip() == b"pong":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"rspamd did not answer on port {port}; see {state}/rspamd.log")
        worker = subprocess.run(["pgrep", "-f", f"rspamd: normal process \\(127.0.0.1:{port}\\)"],
                                check=True, stdout=subprocess.PIPE).stdout.split()[0].decode()
        # The first pass lets its hs_helper finish compiling the Hyperscan databases.
        rspamc(port, files)
        time.sleep(5)
        passes = []
        for _ in range(3):
            before = worker_cpu(worker)
            rspamc(port, files)
            passes.append(worker_cpu(worker) - before)
        return statistics.median(passes)
    finally:
        main.terminate()
        main.wait(timeout=30)


def agreement(ours, theirs, files):
    same = sum(1 for f in files if ours[f]["spam"] == theirs[f]["spam"])
    hits = Counter(r for f in files for r in theirs[f]["hits"])
    per_rule = []
    for rule, count in hits.most_common(20):
        agree = sum(1 for f in files if (rule in ours[f]["hits"]) == (rule in theirs[f]["hits"]))
        per_rule.append({"rule": rule, "spamassassin_hits": count,
                         "policyc_hits": sum(1 for f in files if rule in ours[f]["hits"]),
                         "agreement": agree / len(files)})
    return same / len(files), per_rule


def main():
    corpus = Path(os.environ.get("MP_CORPUS", ROOT.parent / "shared/corpus/spamassassin-public"))
    if not corpus.is_dir():
        print(f"bench/peers: no corpus at {corpus} (set MP_CORPUS); skipped")
        return 0
    files = sample(corpus, int(os.environ.get("MP_PEERS_EVERY", "3")))
    with tempfile.TemporaryDirectory(prefix="peers.") as tmp:
        work = Path(tmp)
        image, build = import_and_build(work)
        ours, ours_cpu = run_policyc(image, files)
        sa_restricted, restricted_cpu = run_spamassassin(files, work / "zero")
        sa_full, full_cpu = run_spamassassin(files, "")
        rspamd_cpu = run_rspamd(files, work)
    n = len(files)
    rate = {"policyc": n / ours_cpu, "spamassassin_full": n / full_cpu,
            "spamassassin_imported": n / restricted_cpu, "rspamd": n / rspamd_cpu}
    verdicts, per_rule = agreement(ours, sa_restricted, files)
    result = {"messages": n, "corpus": str(corpus), "build": build, "messages_per_cpu_second": rate,
              "verdict_agreement": verdicts, "per_rule": per_rule,
              "spam_share": {"policyc": sum(v["spam"] for v in ours.values()) / n,
                             "spamassassin_imported": sum(v["spam"] for v in sa_restricted.values()) / n,
                             "spamassassin_full": sum(v["spam"] for v in sa_full.values()) / n}}
    (ROOT / "build/peers.json").write_text(json.dumps(result, indent=2) + "\n")
    print_markdown(result)
    return 0


def print_markdown(r):
    rate = r["messages_per_cpu_second"]
    print(f"\n{r['messages']} messages of {r['corpus']}; {r['build']['scoring_rules']} imported scoring rules "
          f"(import {r['build']['import_seconds']:.1f} s, build {r['build']['build_seconds']:.1f} s)\n")
    print("| engine | messages per CPU second | policyc is |\n|---|---:|---:|")
    for key, label in [("policyc", "policyc, imported SpamAssassin rules"),
                       ("spamassassin_imported", "SpamAssassin, the same rules"),
                       ("spamassassin_full", "SpamAssassin, full rule set (local tests)"),
                       ("rspamd", "rspamd, its rules (network modules off)")]:
        ratio = "" if key == "policyc" else f"{rate['policyc'] / rate[key]:,.0f}×"
        print(f"| {label} | {rate[key]:,.1f} | {ratio} |")
    print(f"\nVerdict agreement with SpamAssassin on the imported rules: {100 * r['verdict_agreement']:.1f} %")
    share = r["spam_share"]
    print(f"Spam share: policyc {100 * share['policyc']:.1f} %, SpamAssassin same rules "
          f"{100 * share['spamassassin_imported']:.1f} %, full set {100 * share['spamassassin_full']:.1f} %\n")
    print("| rule | SpamAssassin hits | policyc hits | agreement |\n|---|---:|---:|---:|")
    for x in r["per_rule"]:
        print(f"| {x['rule']} | {x['spamassassin_hits']} | {x['policyc_hits']} | {100 * x['agreement']:.1f} % |")


if __name__ == "__main__":
    sys.exit(main())
