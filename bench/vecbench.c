/*
 * vecbench: benchmark tool for vecidx (and any other vector index access
 * method installed in PostgreSQL), written against libpq only.
 *
 *   vecbench load|gt|build|query|write|churn|soak|compare|smoke [options]
 *
 * Data sets: fashion-mnist (Debian package dataset-fashion-mnist) and a
 * deterministic synthetic generator (Gaussian mixture in a low latent space,
 * randomly projected).  Exact ground truth (top 100) is computed by brute
 * force on all cores and cached in the data directory.  Every run prints a
 * table on stdout and appends one JSON object per run to a results file.
 * Concurrent mixed read/write load is bench/pgbench/run.sh (pgbench).
 *
 * This file: the options (one table, read by getopt_long), their defaults,
 * the usage text and the dispatch to the subcommands.  vecbench.h says
 * which file holds what.  See docs/BENCHMARKS.md and 'vecbench --help'.
 */
#include "vecbench.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const metric_names[3] = {"l2", "cosine", "ip"};
const char *const metric_ops[3] = {"<->", "<=>", "<#>"};

Opts		O;
char		g_exedir[1024] = ".";
int			g_threads = 0;

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: vecbench SUBCOMMAND [options]\n"
			"\n"
			"subcommands:\n"
			"  load     load base, query and extra vectors into tables with binary COPY\n"
			"  gt       compute (or reuse) the exact top-100 of every query, cached in the data dir\n"
			"  build    CREATE INDEX for each --spec, with progress; size, bytes/vector, backend peak RSS\n"
			"  query    recall@1/10/100, QPS, p50/p95/p99 over --values x --clients\n"
			"  write    insert (batch sizes), delete, VACUUM, recall after VACUUM, delete+reinsert cycles\n"
			"  churn    delete a share + VACUUM + reinsert it, then cycles of the same with a smaller share;\n"
			"           VACUUM s, reinsert rows/s, index size, recall against the live rows after every step\n"
			"  soak     inserts + deletes (live rows constant), searches and VACUUM side by side for\n"
			"           --duration s; a line every --report-every s: rates, latency, sampled recall,\n"
			"           index size and elements; summary after warm-up (the first 20%%)\n"
			"  compare  build+query two --spec's in alternating runs and print figures and ratios B/A\n"
			"  smoke    tiny end-to-end run of every subcommand with known-answer checks (for CI)\n"
			"  key      generate the data set once: its keys (ground-truth file, table marker), rows/s\n"
			"\n"
			"data set:\n"
			"  --dataset fashion-mnist|synthetic   (default fashion-mnist)\n"
			"  --n N --nq Q --nextra X             base, query and extra (insert) vectors\n"
			"  --metric l2|cosine|ip               (fashion-mnist: l2)\n"
			"  synthetic: --dim D --seed S --clusters C --idim L --spread F --noise F --normalize 0|1\n"
			"      (defaults: n 10000, dim 128, seed 42, clusters 64, idim min(32,dim), spread 0.5,\n"
			"      noise 0.05, normalize on for cosine)\n"
			"  --data-dir DIR     ground-truth cache, streamed sets' base checksums (default: data/ beside\n"
			"                     the binary)\n"
			"  --stream / --no-stream   synthetic base vectors generated in chunks when a pass needs them,\n"
			"      never held whole (default: when n x dim x 4 bytes is above 4 GiB); the keys are the same\n"
			"      --chunk-rows R (16384): rows per chunk; a streamed 'load' commits each chunk and resumes;\n"
			"      churn and soak need the base held whole (--no-stream)\n"
			"\n"
			"index specs (repeatable; compare takes two):\n"
			"  --spec vechnsw | pgvector | exact | 'KEY=VALUE;...'\n"
			"      keys: am, ops, type, guc, with, ext, name; a preset may come first:\n"
			"      --spec 'pgvector;with=m=32, ef_construction=128'\n"
			"      --spec 'am=hnsw;ops=vector_l2_ops;type=vector(784);guc=hnsw.ef_search;ext=vector'\n"
			"  --with 'm=16, ef_construction=64'   default index options\n"
			"\n"
			"query:\n"
			"  --values 10,20,40  GUC values to sweep (--ef is the same)\n"
			"  --clients 1,2,4    concurrent connections   --k 10|100   LIMIT (recall@k)\n"
			"  --repeat R         passes over the queries  --warmup W   untimed passes first (1)\n"
			"  --server-side      one statement per client: query table + lateral subquery\n"
			"  --exact            disable index scans (recall must be 1)   --plan generic|custom\n"
			"write:\n"
			"  --insert-rows N (1000) --batches 1,10,100 --delete-frac F (0.1) --delete-batch B (100)\n"
			"  --cycles C (2) --cycle-frac F (--delete-frac) --write-nq Q (200)\n"
			"  --in-place         on the spec's table and the index 'build' made (no copy, no second build);\n"
			"                     the table is marked changed: later subcommands want 'load --force'\n"
			"  --resume           with --in-place: go on with a write cut short (signal, crash) with the\n"
			"                     same options: the phases it recorded as done in vecbench_meta are skipped\n"
			"                     (their figures come from that record), the rest runs; on a table as\n"
			"                     loaded (no write begun on it) a new run\n"
			"churn (same delete seed for every spec):\n"
			"  --delete-frac F (0.5) first delete   --cycle-frac F (0.1) --cycles C (5) later rounds\n"
			"  --reinsert-batch B (100) rows per commit   --delete-batch B (100)   --write-nq Q (all --nq)\n"
			"soak:\n"
			"  --duration S (180) --report-every S (15) --writers W (2) --readers R (2)\n"
			"  --vacuum-interval S (20; 0 none)  --recall-queries Q (20: the first Q queries, index answer\n"
			"  and exact answer in one REPEATABLE READ snapshot)  --read-rate / --write-rate N: per\n"
			"  connection per second (0: as fast as it goes)  --ef E (40) ef_search of all searches\n"
			"compare:\n"
			"  --runs R           runs per spec (alternating A B / B A), medians printed\n"
			"general:\n"
			"  --set NAME=VALUE   SET on every connection (repeatable), e.g. maintenance_work_mem=2GB\n"
			"  --conninfo STR     libpq connection string (default: PGHOST, PGPORT, ... from the environment)\n"
			"  --table NAME       base table name\n"
			"  --storage auto|plain|main|external|extended|default   of the base table's vector column\n"
			"                     (auto: plain when the row fits a page uncompressed, else external)\n"
			"  --results FILE     JSON lines appended (default results.jsonl beside the binary; '-' none)\n"
			"  --note TEXT        stored in the JSON   --threads T (ground truth)   --force (reload)\n"
			"  --progress/--no-progress               --quiet\n");
}

/* ------------------------------------------------------------------------
 * options: each long option writes one field of O
 * ------------------------------------------------------------------------ */

typedef enum
{
	OPT_STR,					/* char[]: the argument */
	OPT_INT,					/* int: atoi */
	OPT_LONG,					/* long: atol */
	OPT_U64,					/* uint64_t: strtoull */
	OPT_DBL,					/* double: atof */
	OPT_FLAG,					/* int: 'val', no argument */
	OPT_SPEC,					/* --spec (repeatable) */
	OPT_SET,					/* --set (repeatable) */
	OPT_PLAN					/* --plan generic|custom */
} OptKind;

typedef struct OptDef
{
	const char *name;
	OptKind		kind;
	size_t		off,
				size;
	int			val;			/* OPT_FLAG */
} OptDef;

#define OPT(name, kind, field) {name, kind, offsetof(Opts, field), sizeof(((Opts *) 0)->field), 0}
#define FLAG(name, field, v) {name, OPT_FLAG, offsetof(Opts, field), sizeof(int), v}

static const OptDef optdefs[] = {
	OPT("dataset", OPT_STR, dataset), OPT("n", OPT_LONG, n), OPT("dim", OPT_INT, dim),
	OPT("nq", OPT_INT, nq), OPT("nextra", OPT_INT, nextra), OPT("metric", OPT_STR, metric),
	OPT("seed", OPT_U64, seed), OPT("clusters", OPT_INT, clusters), OPT("idim", OPT_INT, idim),
	OPT("noise", OPT_DBL, noise), OPT("spread", OPT_DBL, spread), OPT("normalize", OPT_INT, normalize),
	OPT("data-dir", OPT_STR, datadir), OPT("results", OPT_STR, results), OPT("table", OPT_STR, table),
	OPT("conninfo", OPT_STR, conninfo), OPT("spec", OPT_SPEC, specstr), OPT("with", OPT_STR, with),
	OPT("set", OPT_SET, sets), OPT("k", OPT_INT, k), OPT("values", OPT_STR, values),
	OPT("ef", OPT_STR, values), OPT("clients", OPT_STR, clients), OPT("repeat", OPT_INT, repeat),
	OPT("warmup", OPT_INT, warmup), FLAG("server-side", server_side, 1), FLAG("exact", exact, 1),
	OPT("plan", OPT_PLAN, generic), OPT("runs", OPT_INT, runs), OPT("insert-rows", OPT_INT, insert_rows),
	OPT("batches", OPT_STR, batches), OPT("delete-frac", OPT_DBL, delete_frac),
	OPT("delete-batch", OPT_INT, delete_batch), OPT("cycles", OPT_INT, cycles),
	OPT("write-nq", OPT_INT, write_nq), FLAG("force", force, 1), FLAG("progress", progress, 1),
	FLAG("no-progress", progress, 0), OPT("threads", OPT_INT, threads), OPT("storage", OPT_STR, storage),
	OPT("note", OPT_STR, note), FLAG("quiet", quiet, 1), OPT("cycle-frac", OPT_DBL, cycle_frac),
	OPT("reinsert-batch", OPT_INT, reinsert_batch), OPT("duration", OPT_INT, duration),
	OPT("report-every", OPT_INT, report_every), OPT("writers", OPT_INT, writers),
	OPT("readers", OPT_INT, readers), OPT("vacuum-interval", OPT_DBL, vacuum_interval),
	OPT("recall-queries", OPT_INT, recall_queries), OPT("read-rate", OPT_DBL, read_rate),
	OPT("write-rate", OPT_DBL, write_rate), FLAG("stream", stream, 1), FLAG("no-stream", stream, 0),
	OPT("chunk-rows", OPT_LONG, chunk_rows), FLAG("in-place", in_place, 1), FLAG("resume", resume, 1),
};

#define NOPTS ((int) (sizeof(optdefs) / sizeof(optdefs[0])))

static void
set_option(const OptDef *d, const char *arg)
{
	void	   *f = (char *) &O + d->off;

	switch (d->kind)
	{
		case OPT_STR:
			snprintf(f, d->size, "%s", arg);
			break;
		case OPT_INT:
			*(int *) f = atoi(arg);
			break;
		case OPT_LONG:
			*(long *) f = atol(arg);
			break;
		case OPT_U64:
			*(uint64_t *) f = strtoull(arg, NULL, 10);
			break;
		case OPT_DBL:
			*(double *) f = atof(arg);
			break;
		case OPT_FLAG:
			*(int *) f = d->val;
			break;
		case OPT_SPEC:
			if (O.nspec >= MAXSPECS)
				die("too many --spec");
			O.specstr[O.nspec++] = (char *) arg;
			break;
		case OPT_SET:
			if (O.nsets >= MAXSETS)
				die("too many --set");
			O.sets[O.nsets++] = (char *) arg;
			break;
		case OPT_PLAN:
			O.generic = strcmp(arg, "custom") != 0;
			break;
	}
}

/* options as {name, value} pairs (flags ignore the value) */
void
set_options(const char *const opts[][2], int n)
{
	int			i,
				d;

	for (i = 0; i < n; i++)
	{
		for (d = 0; d < NOPTS && strcmp(optdefs[d].name, opts[i][0]) != 0; d++)
			;
		if (d == NOPTS)
			die("no option --%s", opts[i][0]);
		set_option(&optdefs[d], opts[i][1]);
	}
}

/* the named options as JSON members, "insert-rows" as "insert_rows" */
void
j_options(Json *j, const char *const names[], int n)
{
	int			i,
				d;

	for (i = 0; i < n; i++)
	{
		const void *f;
		char		key[32],
				   *p;

		for (d = 0; d < NOPTS && strcmp(optdefs[d].name, names[i]) != 0; d++)
			;
		if (d == NOPTS)
			die("no option --%s", names[i]);
		f = (const char *) &O + optdefs[d].off;
		snprintf(key, sizeof(key), "%s", names[i]);
		for (p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		switch (optdefs[d].kind)
		{
			case OPT_INT:
				j_int(j, key, *(const int *) f);
				break;
			case OPT_LONG:
				j_int(j, key, *(const long *) f);
				break;
			case OPT_U64:
				j_int(j, key, (long long) *(const uint64_t *) f);
				break;
			case OPT_DBL:
				j_num(j, key, *(const double *) f);
				break;
			case OPT_STR:
				j_str(j, key, f);
				break;
			default:
				die("option --%s has no JSON form", names[i]);
		}
	}
}

static void
set_defaults(void)
{
	/* -1: the default depends on the subcommand or the data set, see check_options */
	static const char *const defaults[][2] = {
		{"dataset", "fashion-mnist"}, {"nq", "1000"}, {"nextra", "-1"}, {"seed", "42"}, {"clusters", "64"},
		{"noise", "0.05"}, {"spread", "0.5"}, {"normalize", "-1"}, {"with", "m=16, ef_construction=64"},
		{"k", "10"}, {"values", ""}, {"clients", "1"}, {"repeat", "1"}, {"warmup", "1"},
		{"plan", "generic"}, {"runs", "1"}, {"insert-rows", "1000"}, {"batches", "1,10,100"},
		{"delete-frac", "-1"}, {"delete-batch", "100"}, {"cycles", "-1"}, {"cycle-frac", "-1"},
		{"reinsert-batch", "100"}, {"write-nq", "-1"}, {"storage", "auto"}, {"duration", "180"},
		{"report-every", "15"}, {"writers", "2"}, {"readers", "2"}, {"vacuum-interval", "20"},
		{"recall-queries", "20"}, {"read-rate", "0"}, {"write-rate", "0"}, {"chunk-rows", "16384"},
	};
	char		exe[1024];
	ssize_t		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
	{
		char	   *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		snprintf(g_exedir, sizeof(g_exedir), "%s", exe);
	}
	memset(&O, 0, sizeof(O));
	set_options(defaults, sizeof(defaults) / sizeof(defaults[0]));
	snprintf(O.datadir, sizeof(O.datadir), "%s/data", g_exedir);
	snprintf(O.results, sizeof(O.results), "%s/results.jsonl", g_exedir);
	O.stream = -1;
	O.progress = isatty(2);
	O.threads = (int) sysconf(_SC_NPROCESSORS_ONLN);
}

/* ranges, and the defaults that depend on the subcommand */
static void
check_options(const char *sub)
{
	int			churn = strcmp(sub, "churn") == 0,
				soak = strcmp(sub, "soak") == 0;

	/* only a write's table may be taken as a cut-short write left it (load_base_tables) */
	if (O.resume && strcmp(sub, "write") != 0)
		die("--resume goes with 'write --in-place' only (it goes on with an in-place write cut short)");
	if (O.resume && !O.in_place)
		die("write --resume goes on with a 'write --in-place' cut short; without --in-place a write works on a "
			"copy it makes anew (no --resume)");
	if (O.k < 1 || O.k > GT_K)
		die("--k must be within 1..%d", GT_K);
	if (O.nq < 1)
		die("--nq must be at least 1");
	if (O.delete_batch < 1)
		O.delete_batch = 1;
	if (O.reinsert_batch < 1)
		O.reinsert_batch = 1;
	if (O.delete_frac < 0)
		O.delete_frac = churn ? 0.5 : 0.1;
	if (O.cycle_frac < 0)
		O.cycle_frac = churn ? 0.1 : O.delete_frac;
	if (O.cycles < 0)
		O.cycles = churn ? 5 : 2;
	if (O.write_nq < 0)
		O.write_nq = churn ? O.nq : 200;
	if (!O.values[0])			/* soak searches at one ef_search */
		snprintf(O.values, sizeof(O.values), "%s", soak ? "40" : "10,20,40,80,160");
	if (O.duration < 1 || O.report_every < 1)
		die("--duration and --report-every must be at least 1");
	if (O.writers < 0 || O.readers < 0 || O.writers > 64 || O.readers > 64)
		die("--writers and --readers must be within 0..64");
	if (O.recall_queries < 0)
		O.recall_queries = 0;
	if (strcmp(O.storage, "auto") && strcmp(O.storage, "plain") && strcmp(O.storage, "default") &&
		strcmp(O.storage, "external") && strcmp(O.storage, "main") && strcmp(O.storage, "extended"))
		die("--storage: auto, plain, main, external, extended or default");
	g_threads = O.threads > 0 ? O.threads : 1;
}

int
main(int argc, char **argv)
{
	static const struct
	{
		const char *name;
		int			(*fn) (void);
	}			subs[] = {
		{"load", cmd_load}, {"gt", cmd_gt}, {"build", cmd_build}, {"query", cmd_query},
		{"write", cmd_write}, {"churn", cmd_churn}, {"soak", cmd_soak}, {"compare", cmd_compare},
		{"smoke", cmd_smoke}, {"key", cmd_key},
	};
	struct option longopts[NOPTS + 2];
	const char *sub;
	int			opt,
				i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	set_defaults();
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
	{
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < NOPTS; i++)
	{
		longopts[i].name = optdefs[i].name;
		longopts[i].has_arg = optdefs[i].kind == OPT_FLAG ? no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 1000 + i;
	}
	longopts[NOPTS] = (struct option) {"help", no_argument, NULL, 'h'};
	longopts[NOPTS + 1] = (struct option) {NULL, 0, NULL, 0};
	sub = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		if (opt >= 1000 && opt < 1000 + NOPTS)
			set_option(&optdefs[opt - 1000], optarg);
		else if (opt == 'h')
		{
			usage(stdout);
			return 0;
		}
		else
		{
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	check_options(sub);
	cancel_on_signal_install();
	for (i = 0; i < (int) (sizeof(subs) / sizeof(subs[0])); i++)
		if (strcmp(sub, subs[i].name) == 0)
			return subs[i].fn();
	fprintf(stderr, "vecbench: unknown subcommand '%s'\n", sub);
	usage(stderr);
	return 2;
}
