/*
 * vecbench.h: what the vecbench source files share -- the options, the data
 * set, ground truth, index spec and result types, and the functions one file
 * offers the others.  Which file holds what:
 *
 *   vecbench.c      main: options (getopt_long from a table), usage, dispatch
 *   bench_util.c    errors and memory, clocks, lists and percentiles, the
 *                   parallel_for of the CPU work, the PRNG, progress bars
 *   bench_data.c    data sets (fashion-mnist, synthetic generator; large
 *                   synthetic sets streamed: generated in chunks per pass),
 *                   exact ground truth (brute force, running top-K over
 *                   chunks, cache file), recall; 'gt', 'key'
 *   bench_db.c      libpq: connections, statements, binary parameters and
 *                   COPY, index specs and table names, loading (a streamed
 *                   set chunk by chunk, resumable); 'load'
 *   bench_report.c  run metadata and the JSON lines of the results file
 *   bench_query.c   CREATE INDEX with progress, query runs over N
 *                   connections; 'build', 'query', 'compare'
 *   bench_write.c   inserts, deletes, VACUUM and the live-row bookkeeping;
 *                   'write' (on a copy, or --in-place on the built index, its
 *                   progress recorded: --resume goes on with a run cut short)
 *   bench_churn.c   'churn': delete + VACUUM + reinsert rounds, side by side
 *   bench_soak.c    'soak': inserts, deletes, searches and VACUUM side by side for a
 *                   duration; a line per interval (rates, latency, sampled recall,
 *                   index size and elements)
 *   bench_smoke.c   'smoke': every subcommand on a tiny data set, known answers
 */
#ifndef VECBENCH_H
#define VECBENCH_H

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>
/* libpq's own growable buffer (exported by libpq; the header wants this macro from c.h) */
#ifndef pg_attribute_printf
#define pg_attribute_printf(f, a) __attribute__((format(printf, f, a)))
#endif
#include <internal/pqexpbuffer.h>

#define INT8OID 20
#define FLOAT4OID 700
#define INT8ARRAYOID 1016
#define FLOAT4ARRAYOID 1021

#define GT_K 100				/* neighbours kept in the ground truth */
#define MAXSETS 32				/* --set */
#define MAXSPECS 8				/* --spec */
#define MAXLIST 64				/* --values, --clients */
#define MAXRUNS (MAXLIST * 4)	/* query results of one sweep */

enum
{
	METRIC_L2, METRIC_COSINE, METRIC_IP
};
extern const char *const metric_names[3];
extern const char *const metric_ops[3];

/* ---- options (vecbench.c) ---- */

typedef struct Opts
{
	char		dataset[32];
	long		n;
	int			dim;
	int			nq;
	int			nextra;
	char		metric[16];
	uint64_t	seed;
	int			clusters;
	int			idim;
	double		noise;
	double		spread;
	int			normalize;		/* -1 = auto (on for cosine) */
	char		datadir[1200];
	char		results[1200];
	char		table[64];
	char		conninfo[512];
	char	   *specstr[MAXSPECS];
	int			nspec;
	char		with[256];
	char	   *sets[MAXSETS];
	int			nsets;
	int			k;
	char		values[512];
	char		clients[128];
	int			repeat;
	int			warmup;
	int			server_side;
	int			exact;
	int			generic;
	int			runs;
	int			insert_rows;
	char		batches[128];
	double		delete_frac;
	int			delete_batch;
	int			cycles;
	double		cycle_frac;
	int			reinsert_batch;
	int			write_nq;
	int			force;
	int			progress;
	int			threads;
	char		storage[16];
	char		note[256];
	int			quiet;
	int			duration;		/* soak */
	int			report_every;
	int			writers;
	int			readers;
	double		vacuum_interval;
	int			recall_queries;
	double		read_rate;
	double		write_rate;
	int			stream;			/* -1 = auto (synthetic above STREAM_AUTO_BYTES) */
	long		chunk_rows;		/* rows per chunk of a streamed data set */
	int			in_place;		/* write: on the spec's table and built index */
	int			resume;			/* write --in-place: go on with a run cut short */
} Opts;

extern Opts O;

void		set_options(const char *const opts[][2], int n);
extern char g_exedir[1024];		/* directory of the binary */
extern int	g_threads;			/* threads of parallel_for */

/* ---- bench_util.c ---- */

double		now_sec(void);
void		die(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
void	   *xmalloc(size_t n);
void	   *xcalloc(size_t n, size_t sz);
char	   *xstrdup(const char *s);
char	   *xvasprintf(const char *fmt, va_list ap);
void		buf_check(PQExpBuffer b);
int			parse_int_list(const char *s, long *out, int max);
int			parse_str_list(const char *s, char out[][64], int max);
int			cmp_double(const void *a, const void *b);
double		percentile_sorted(const double *v, long n, double q);
double		median_of(const double *v, int n);
char	   *popen_line(const char *cmd);

typedef void (*range_fn) (long lo, long hi, void *arg);
void		parallel_for(long n, long chunk, range_fn fn, void *arg);

typedef struct Rng
{
	uint64_t	s[4];
	int			have_gauss;
	double		gauss;
} Rng;

uint64_t	splitmix64(uint64_t *x);
uint64_t	rotl64(uint64_t x, int k);
void		rng_seed(Rng *r, uint64_t seed, uint64_t stream, uint64_t index);
double		rng_uniform(Rng *r);
double		rng_gauss(Rng *r);

typedef struct Progress
{
	const char *label;
	double		t0;
	double		last;
	int			last_decile;
	int			active;
} Progress;

void		progress_start(Progress *p, const char *label);
void		progress_show(Progress *p, double frac, const char *detail);
void		progress_end(Progress *p);

typedef struct RateProgress		/* a line every few seconds: rows, rows/s, ETA */
{
	const char *label;
	double		t0,
				last;
	long		first,			/* rows done before this run (a resumed load) */
				total;
} RateProgress;

void		rate_start(RateProgress *p, const char *label, long first, long total);
void		rate_show(RateProgress *p, long done, int final);
void		rate_line(const RateProgress *p, long done, char *out, size_t len);

/* ---- bench_data.c ---- */

typedef struct Dataset
{
	char		name[32];		/* fashion-mnist | synthetic */
	char		key[256];		/* cache key (file names, table markers) */
	char		tabkey[256];	/* key of the base table contents */
	int			metric;
	long		n;
	int			dim;
	int			nq;
	int			nextra;
	float	   *base;			/* NULL when streamed */
	float	   *query;
	float	   *extra;
	uint64_t	ck_base,
				ck_query,
				ck_extra;
	double		load_seconds;
	int			streamed;		/* base rows generated chunk by chunk when needed */
	void	   *syn;			/* the synthetic generator's model (streamed sets) */
	double		pass_seconds;	/* one generation pass over the base rows (streamed) */
} Dataset;

/*
 * a synthetic data set is streamed when its base floats would take more than
 * this (or with --stream): 10M x 512 (20 GB) is, 1M x 512 (2 GB, which churn
 * and soak need held whole) is not
 */
#define STREAM_AUTO_BYTES (4L << 30)
#define STREAM_CHUNK_ROWS 16384

/* called with each chunk of base rows [lo, hi) of a streaming pass, vecs = row lo */
typedef void (*chunk_fn) (const float *vecs, long lo, long hi, void *arg);

/* running exact top-K of a set of queries over rows added in any order */
typedef struct GtAcc GtAcc;

typedef struct GroundTruth
{
	int			nq;
	int			K;
	int64_t    *ids;			/* nq * K */
	float	   *dist;			/* nq * K */
	int			cached;			/* loaded from the cache file */
	double		seconds;
} GroundTruth;

void		dataset_load(Dataset *ds);
void		dataset_free(Dataset *ds);
void		dataset_base_rows(const Dataset *ds, long lo, long hi, float *out);
void		dataset_base_ids(const Dataset *ds, const int64_t *ids, long n, float *out);
double		dataset_stream(const Dataset *ds, long from, const char *label, chunk_fn fn, void *arg);
GtAcc	   *gt_acc_begin(const float *q, int nq, int dim, int metric, int K);
void		gt_acc_add(GtAcc *a, const float *vecs, const int64_t *ids, int64_t id0, long n, const char *alive);
void		gt_acc_base(GtAcc *a, const Dataset *ds, const char *alive, const char *label);
void		gt_acc_end(GtAcc *a, GroundTruth *gt);
void		compute_gt(const float *base, const int64_t *base_ids, long n, const float *q, int nq, int dim,
					   int metric, int K, GroundTruth *gt);
void		gt_get(const Dataset *ds, GroundTruth *gt);
void		gt_free(GroundTruth *gt);
void		gt_path(const Dataset *ds, char *path, size_t len);
double		recall_at(const int64_t *res, int nres, const int64_t *gtids, const float *gtd, int K, int k);

/* ---- bench_db.c ---- */

typedef struct Mem				/* peak and current resident memory of a local backend */
{
	long		hwm_kb;
	long		rss_kb;
	long		anon_kb;
} Mem;

typedef struct Spec				/* an index to test: access method, opclass, column type, GUC */
{
	char		label[64];
	char		am[64];
	char		ops[96];
	char		type[96];
	char		guc[96];
	char		with[256];
	char		ext[64];
	char		raw[512];
	/* resolved */
	char		table[256];
	char		qtable[256];
	char		index[160];
	char		param[160];
	int			is_real;
} Spec;

typedef struct LoadResult
{
	double		seconds;		/* COPY of the base table */
	double		vacuum_seconds;
	long long	table_bytes;
	int			skipped;
	long		rows;			/* base rows copied by this run */
	long		resumed_from;	/* streamed: rows already there when it started */
} LoadResult;

PGconn	   *db_connect(void);
void		db_finish(PGconn *c);
void		cancel_on_signal_install(void);
void		db_exec(PGconn *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
int			db_try(PGconn *c, int quiet, const char *sql);
char	   *db_value(PGconn *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
long long	db_int(PGconn *c, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		db_prepare(PGconn *c, const char *name, const char *sql, int nparams, const Oid *types);
Mem			proc_mem(int pid);
void		append_be32(PQExpBuffer b, uint32_t v);
void		append_float_array(PQExpBuffer b, const float *v, int dim);
void		append_int8_array(PQExpBuffer b, const int64_t *v, long n);
void		base_table_name(const Dataset *ds, char *out, size_t len);
void		spec_parse(Spec *s, const char *str, const Dataset *ds);
void		default_specs(Spec *specs, int *nspec, const Dataset *ds);
const char *vector_storage(long value_bytes, int side);
void		load_base_tables(PGconn *c, const Dataset *ds, LoadResult *lr);
void		ensure_spec_tables(PGconn *c, const Dataset *ds, const Spec *s);
void		mark_table_written(PGconn *c, const char *table);
int			table_written(PGconn *c, const char *table);
void		meta_set(PGconn *c, const char *tbl, const char *key, long rows);

/* what a subcommand works on: data set, ground truth, connection, specs */
typedef struct Run
{
	Dataset		ds;
	GroundTruth gt;
	int			has_gt;
	PGconn	   *c;
	Spec		specs[MAXSPECS];
	int			nspec;
} Run;

void		run_data(Run *r, int with_gt);
void		run_connect(Run *r);
void		start_run(Run *r, int with_gt);
void		end_run(Run *r);

/* ---- bench_report.c ---- */

typedef struct Json
{
	PQExpBufferData b;
	int			need_comma[64];
	char		closer[64];		/* '}' or ']' of each open level */
	int			depth;
} Json;

void		j_key(Json *j, const char *key);
void		j_raw(Json *j, const char *key, const char *json);
void		j_obj(Json *j, const char *key);
void		j_arr(Json *j, const char *key);
void		j_end(Json *j);
void		j_str(Json *j, const char *key, const char *v);
void		j_num(Json *j, const char *key, double v);
void		j_int(Json *j, const char *key, long long v);
void		j_bool(Json *j, const char *key, int v);
void		j_mem(Json *j, const Mem *m);
void		j_options(Json *j, const char *const names[], int n);	/* vecbench.c */
void		j_spec(Json *j, const Spec *s);
void		meta_collect(PGconn *c);
void		meta_refresh_extensions(PGconn *c);
PGconn	   *setup_connection(void);
void		json_run_begin(Json *j, const char *sub, const Dataset *ds, const Spec *s);
void		json_run_end(Json *j);

/* ---- bench_query.c ---- */

typedef struct BuildResult
{
	double		seconds;
	long long	index_bytes;
	long long	table_bytes;
	double		bytes_per_vector;
	Mem			mem;
	char		stats[512];		/* vechnsw_index_stats() as JSON, or "" */
	int			pid;
} BuildResult;

typedef struct QueryResult
{
	char		value[64];		/* GUC value */
	int			clients;
	long		queries;
	double		wall;
	double		qps;
	double		p50,
				p95,
				p99,
				mean;			/* ms */
	double		recall1,
				recall10,
				recall100;
	long		min_results;	/* fewest rows returned by a query */
	Mem			mem;			/* max over the backends */
	int			server_side;
} QueryResult;

int			has_index(const Spec *s);
int			sweep_values(const Spec *s, char values[][64]);
void		drop_vector_indexes(PGconn *c, const char *table);
int			index_exists(PGconn *c, const char *index);
void		build_index(PGconn *c, const Spec *s, const char *table, const char *index, long nrows,
						BuildResult *br);
void		print_build(const Spec *s, const char *table, const BuildResult *br);
void		json_build(Json *j, const BuildResult *br);
void		run_queries(const Dataset *ds, const Spec *s, const char *table, const char *qtable,
						const float *queries, int nq, const GroundTruth *gt, const char *value, int clients,
						int repeat, int server_side, QueryResult *qr);
void		json_query_result(Json *j, const QueryResult *q);

/* ---- bench_write.c: write paths (also used by bench_churn.c) ---- */

typedef struct LiveSet
{
	long		n;				/* base rows */
	char	   *base_alive;
	/* rows inserted by the benchmark: id and source vector */
	int64_t    *ins_id;
	const float **ins_vec;
	char	   *ins_alive;
	long		nins,
				cap;
	/* vectors generated for rows of a streamed data set (freed with the set) */
	float	  **owned;
	long		nowned;
} LiveSet;

typedef struct WriteRecall
{
	int			n;
	QueryResult q[MAXLIST];
} WriteRecall;

void		live_init(LiveSet *L, long n);
void		live_add(LiveSet *L, int64_t id, const float *v);
void		live_compact(LiveSet *L);
void		live_free(LiveSet *L);
long		live_count(const LiveSet *L);
uint64_t	live_hash(const LiveSet *L);
void		live_gt(const Dataset *ds, const LiveSet *L, int nq, GroundTruth *gt);
long		pick_live(LiveSet *L, Rng *r, long m, int64_t *ids, const float **vecs, const Dataset *ds);
void		live_materialize(LiveSet *L, const Dataset *ds, const int64_t *ids, const float **vecs, long n);
void		work_table_names(const Spec *s, const char *suffix, char *wt, size_t wtlen, char *widx,
							 size_t widxlen);
void		work_table(PGconn *c, const Dataset *ds, const Spec *s, const char *wt, const char *widx,
					   BuildResult *br);
void		prepare_insert(PGconn *c, const char *stmt, const char *table, const Spec *s);
int			exec_insert(PGconn *c, const char *stmt, int64_t id, const float *v, int dim);
double		delete_ids(PGconn *c, const char *table, const int64_t *ids, long n, int batch);
double		timed_vacuum(PGconn *c, const char *table);
double		reinsert_rows(PGconn *c, const Dataset *ds, const Spec *s, const char *table, const float **vecs,
						  long n, int batch, int64_t *next_id, LiveSet *L, const char *label);
double		rows_per_s(long rows, double seconds);
void		recall_vs_gt(const Dataset *ds, const Spec *s, const char *table, const GroundTruth *gt, int nq,
						 WriteRecall *wr, const char *label);
void		json_write_recall(Json *j, const char *key, const WriteRecall *wr);


typedef struct WriteSummary		/* recall@10 of the last 'write', at the last GUC value */
{
	double		recall_before,
				recall_after_vacuum,
				recall_after_cycles;
} WriteSummary;

typedef struct ChurnSummary
{
	double		min_recall10,
				max_recall10;	/* over the steps of the last spec, at every GUC value */
	long		live_end;
} ChurnSummary;

typedef struct SoakSummary		/* the last 'soak' (for the smoke) */
{
	int			reports;		/* lines printed, the one at t = 0 included */
	long		inserts,
				deletes,
				queries,
				errors,
				delete_missed;	/* DELETEs that found no row: the live set is tracked wrongly */
	long		rows_table,		/* count(*) at the end */
				rows_tracked;	/* the live set's count */
	double		recall_min,		/* after warm-up */
				recall_mean;
	long long	size_min,
				size_max;
} SoakSummary;

extern WriteSummary g_last_write;
extern ChurnSummary g_last_churn;
extern SoakSummary g_last_soak;

/* ---- subcommands ---- */

int			cmd_load(void);
int			cmd_gt(void);
int			cmd_build(void);
int			cmd_query(void);
int			cmd_compare(void);
int			cmd_write(void);
int			cmd_churn(void);
int			cmd_soak(void);
int			cmd_smoke(void);
int			cmd_key(void);

#endif							/* VECBENCH_H */
