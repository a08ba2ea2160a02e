#!/usr/bin/env python3
"""bench_check.py: reads dagstack_bench's Google Benchmark JSON and prints the DESIGN.md §6 table:
our figure, spdlog's, the ratio, and whether the budget is met.

    scripts/bench_check.py build-bench/bench.json [--strict] [--markdown]

With repetitions, medians are used (the "_median" aggregates); without, the single run. Times
are the benchmark's real time per call (ns) unless a row says otherwise; the async rows use the
p50/p99.9 counters of per-call burst times. Exit status: 1 if the file is unreadable or a
benchmark reported an error; misses of a budget fail only with --strict (CI does not pass it).
"""
import json
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    errors = []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append(f"{b.get('name')}: {b.get('error_message')}")
            continue
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        name = b.get("run_name") or b["name"]
        # A median aggregate wins over a plain run of the same name.
        if agg == "median" or name not in runs:
            runs[name] = b
    return data.get("context", {}), runs, errors


def ns(b, key="real_time"):
    if b is None:
        return None
    v = b.get(key)
    if v is None:
        return None
    unit = b.get("time_unit", "ns")
    return v * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit] if key in ("real_time", "cpu_time") else v


def find(runs, pattern):
    """The run named `pattern`'s first component whose other components include the rest, e.g.
    "AsyncFile_dagstack/threads:1" matches "AsyncFile_dagstack/iterations:20000/manual_time/threads:1"."""
    if pattern is None:
        return None
    want = pattern.split("/")
    for name, b in runs.items():
        parts = name.split("/")
        if parts[0] == want[0] and all(w in parts[1:] for w in want[1:]):
            return b
    return None


def fmt(v, unit="ns"):
    if v is None:
        return "n/a"
    if unit == "ns":
        return f"{v:.1f} ns" if v < 1000 else f"{v / 1000:.2f} us"
    if unit == "rec/s":
        return f"{v / 1e6:.2f} M/s"
    return f"{v:g}"


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    strict = "--strict" in argv
    if len(args) != 1:
        print(__doc__)
        return 2
    try:
        context, runs, errors = load(args[0])
    except (OSError, ValueError) as e:
        print(f"bench_check: cannot read {args[0]}: {e}")
        return 1

    rows = []  # (case, ours, theirs, ratio, budget text, ok)

    def pair(case, ours_name, theirs_name, key, budget_ratio, label=None):
        o, t = find(runs, ours_name), find(runs, theirs_name)
        ov, tv = ns(o, key), ns(t, key)
        ratio = ov / tv if ov and tv else None
        ok = None if ratio is None else ratio <= budget_ratio
        rows.append((label or case, fmt(ov), fmt(tv), f"{ratio:.2f}" if ratio else "n/a",
                     f"ratio <= {budget_ratio}", ok))

    pair("call below the level", "BelowLevel_dagstack", "BelowLevel_spdlog", "real_time", 1.0)

    for threads in (1, 2):
        o = find(runs, f"NullSink_dagstack/threads:{threads}")
        t = find(runs, f"NullSink_spdlog/threads:{threads}")
        ov, tv = ns(o), ns(t)
        rows.append((f"enabled record into a discarding sink ({threads} thr)", fmt(ov), fmt(tv),
                     f"{ov / tv:.2f}" if ov and tv else "n/a", "<= 150 ns median",
                     None if ov is None else ov <= 150.0))

    for threads in (1, 2):
        pair("", f"FileSyncBuffered_dagstack/threads:{threads}", f"FileSync_spdlog/threads:{threads}",
             "real_time", 1.5,
             label=f"FileSink sync, buffered vs basic_file_sink_{'st' if threads == 1 else 'mt'} ({threads} thr)")
        o = find(runs, f"FileSync_dagstack/threads:{threads}")
        t = find(runs, f"FileSync_spdlog/threads:{threads}")
        ov, tv = ns(o), ns(t)
        rows.append((f"  FileSink sync, durable default (write per record) ({threads} thr)", fmt(ov), fmt(tv),
                     f"{ov / tv:.2f}" if ov and tv else "n/a", "(own row, see README)", None))

    for threads in (1, 2):
        o = find(runs, f"AsyncFile_dagstack/threads:{threads}")
        t = find(runs, f"AsyncFile_spdlog/threads:{threads}")
        o50, t50 = ns(o, "p50_ns"), ns(t, "p50_ns")
        o999, t999 = ns(o, "p999_ns"), ns(t, "p999_ns")
        ratio = o50 / t50 if o50 and t50 else None
        rows.append((f"AsyncSink(FileSink) caller p50 vs spdlog async ({threads} thr)", fmt(o50), fmt(t50),
                     f"{ratio:.2f}" if ratio else "n/a", "ratio <= 0.5", None if ratio is None else ratio <= 0.5))
        rows.append((f"AsyncSink(FileSink) caller p99.9 ({threads} thr)", fmt(o999), fmt(t999),
                     f"{o999 / t999:.2f}" if o999 and t999 else "n/a", "<= 5 us",
                     None if o999 is None else o999 <= 5000.0))

    # Issue 15: the deferred caller path against the floor (clock + copy into a per-thread ring).
    for threads in (1, 2):
        d = find(runs, f"AsyncFile_deferred/threads:{threads}")
        f = find(runs, f"AsyncFileFloor/threads:{threads}")
        t = find(runs, f"AsyncFile_spdlog/threads:{threads}")
        d50, f50, t50 = ns(d, "p50_ns"), ns(f, "p50_ns"), ns(t, "p50_ns")
        r = d50 / f50 if d50 and f50 else None
        rows.append((f"deferred path caller p50 vs the floor ({threads} thr)", fmt(d50), fmt(f50),
                     f"{r:.2f}" if r else "n/a", "ratio to floor <= 2.5", None if r is None else r <= 2.5))
        rs = d50 / t50 if d50 and t50 else None
        rows.append((f"  deferred path caller p50 vs spdlog async ({threads} thr)", fmt(d50), fmt(t50),
                     f"{rs:.2f}" if rs else "n/a", "ratio <= 0.1", None if rs is None else rs <= 0.1))
        if threads == 1:
            d999 = ns(d, "p999_ns")
            rows.append(("  deferred path caller p99.9 (1 thr)", fmt(d999), fmt(ns(f, "p999_ns")), "-",
                         "<= 1 us", None if d999 is None else d999 <= 1000.0))
    il = find(runs, "AsyncFileInterleaved")
    il_d, il_f = ns(il, "deferred_p999_ns"), ns(il, "floor_p999_ns")
    rows.append(("  same, bursts alternating with the floor's (1 thr)", fmt(il_d), fmt(il_f), "-",
                 "<= 1 us", None if il_d is None else il_d <= 1000.0))
    dw = ns(find(runs, "DeferredWriterThroughput_dagstack"), "items_per_second")
    rows.append(("  deferred path end to end, one producer (writer throughput)", fmt(dw, "rec/s"), "-", "-",
                 ">= 3 M/s", None if dw is None else dw >= 3e6))
    dn = ns(find(runs, "DeferredWriterThroughputDevNull_dagstack"), "items_per_second")
    rows.append(("  same into /dev/null (the writer without the kernel's copy)", fmt(dn, "rec/s"), "-", "-",
                 "(context)", None))
    rf = ns(find(runs, "WriteFloor_raw"), "items_per_second")
    rows.append(("  write(2) floor: the same lines pre-built, 512 per write, to tmpfs", fmt(rf, "rec/s"), "-",
                 f"{dw / rf:.2f}" if dw and rf else "n/a", "(context)", None))
    for label, name in (("heap allocs per call, deferred path (3 attrs)", "Allocs_Deferred_dagstack"),
                        ("  (8 attrs)", "Allocs_Deferred8_dagstack"),
                        ("  (fmt body)", "Allocs_DeferredFmt_dagstack"),
                        ("  (3 string attrs of 256 bytes)", "Allocs_DeferredString256_dagstack")):
        v = ns(find(runs, name), "allocs_per_call")
        rows.append((label, fmt(v, ""), "-", "-", "0 in steady state", None if v is None else v == 0))
    for label, name in (("NorthStar span open/close + one event, synchronous (p50)", "NorthStarSpan_sync"),
                        ("  same on the deferred path (p50)", "NorthStarSpan_deferred")):
        v = ns(find(runs, name), "p50_ns")
        rows.append((label, fmt(v), "-", "-", "(reported)", None))

    nb = find(runs, "AsyncFileNoise_baseline")
    if nb is not None:
        rows.append(("  noise floor: same bursts around ~100 ns of arithmetic (p50 / p99.9)",
                     f"{fmt(ns(nb, 'p50_ns'))} / {fmt(ns(nb, 'p999_ns'))}", "-", "-", "(context)", None))

    w = find(runs, "WriterThroughput_dagstack")
    ws = find(runs, "WriterThroughput_spdlog")
    wv, wsv = ns(w, "items_per_second"), ns(ws, "items_per_second")
    rows.append(("JSON-lines writer throughput, one thread (FileSink)", fmt(wv, "rec/s"), fmt(wsv, "rec/s"),
                 f"{wv / wsv:.2f}" if wv and wsv else "n/a", ">= 1.5 M/s", None if wv is None else wv >= 1.5e6))
    wd = find(runs, "WriterThroughputDurable_dagstack")
    wdv = ns(wd, "items_per_second")
    rows.append(("  same, durable FileSink with no batch (write per record)", fmt(wdv, "rec/s"), "-", "-",
                 "(context)", None))
    a = find(runs, "AsyncWriterThroughput_dagstack")
    av = ns(a, "items_per_second")
    rows.append(("  same, end to end through AsyncSink's writer", fmt(av, "rec/s"), "-", "-", ">= 1.5 M/s",
                 None if av is None else av >= 1.5e6))

    fe = find(runs, "FirstException_dagstack")
    fev = ns(fe)
    rows.append(("first Logger::exception() of a process (fresh process each)", fmt(fev), "-", "-",
                 "< 5 ms", None if fev is None else fev < 5e6))
    ne = find(runs, "NorthStarEmit_direct")
    nl = find(runs, "NorthStarLoggerCall")
    for label, b in (("NorthStar sink emit on the caller (p50)", ne), ("  whole logger call into it (p50)", nl)):
        v = ns(b, "p50_ns")
        rows.append((label, fmt(v), "-", "-", "<= 300 ns median", None if v is None else v <= 300.0))

    oe = find(runs, "OtlpEmit_direct")
    ol = find(runs, "OtlpLoggerCall")
    for label, b in (("OTLP sink emit on the caller (p50)", oe), ("  whole logger call into it (p50)", ol)):
        v = ns(b, "p50_ns")
        rows.append((label, fmt(v), "-", "-", "<= 300 ns median", None if v is None else v <= 300.0))
    for label, name in (("OTLP protobuf encoding, one thread", "OtlpEncode_protobuf"),
                        ("  OTLP/JSON encoding, one thread", "OtlpEncode_json")):
        v = ns(find(runs, name), "items_per_second")
        rows.append((label, fmt(v, "rec/s"), "-", "-", "(reported)", None))

    for label, name, theirs in (("heap allocs per enabled call into FileSink (3 attrs)", "Allocs_FileSync_dagstack", "Allocs_FileSync_spdlog"),
                                ("heap allocs per enabled call into FileSink (8 attrs)", "Allocs8_FileSync_dagstack", None),
                                ("heap allocs per call on the AsyncSink caller", "Allocs_AsyncFile_dagstack", None)):
        v = ns(find(runs, name), "allocs_per_call")
        tv = ns(find(runs, theirs), "allocs_per_call") if theirs else None
        rows.append((label, fmt(v, ""), fmt(tv, "") if theirs else "-", "-", "0 in steady state",
                     None if v is None else v == 0))

    markdown = "--markdown" in argv
    head = ("case", "dagstack", "spdlog", "ratio", "budget", "met")
    mark = {True: "yes", False: "MISSED", None: "-"}
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(list(r[:5]) + [mark[r[5]]]) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(head, *[(*r[:5], mark[r[5]]) for r in rows])]
        line = "  ".join(h.ljust(wd) for h, wd in zip(head, widths))
        print(line)
        print("-" * len(line))
        for r in rows:
            print("  ".join(str(x).ljust(wd) for x, wd in zip((*r[:5], mark[r[5]]), widths)))
    print(f"\nhost: {context.get('num_cpus', '?')} CPUs @ {context.get('mhz_per_cpu', '?')} MHz, "
          f"load {context.get('load_avg', '?')}, library build {context.get('library_build_type', '?')}")
    for e in errors:
        print(f"ERROR {e}")
    missed = [r for r in rows if r[5] is False]
    if errors:
        return 1
    if strict and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
