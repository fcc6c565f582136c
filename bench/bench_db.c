/*
 * bench_db.c: vecbench and the server (libpq only).
 *   - connections (with --set), statements, single values;
 *   - binary encodings: float4[] / int8[] parameters and binary COPY rows;
 *   - backend memory from /proc;
 *   - index specs (--spec) and the table names they resolve to;
 *   - loading: base, query and extra vectors by binary COPY (a streamed data
 *     set chunk by chunk, a transaction each, resumable), the spec's own
 *     copies for other column types, the vecbench_meta marker table that
 *     makes a reload unnecessary; the 'load' subcommand;
 *   - Run: the data set, ground truth, connection and specs a subcommand
 *     works on.
 */
#include "vecbench.h"

#include <ctype.h>
#include <endian.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * the connections' statements cancelled on SIGINT / SIGTERM: the server
 * would otherwise go on with a CREATE INDEX or VACUUM of the dead client for
 * hours.  Every db_connect connection has a slot with its PGcancel; the
 * handler sends PQcancel (signal-safe) on the slots alive, then dies of the
 * signal.  A slot's PGcancel is freed only when the slot is taken again,
 * never while a handler may be using it (g_cancelling).  Besides, each
 * connection sets client_connection_check_interval (PostgreSQL 14 and
 * later), so that a statement of a client killed any other way (SIGKILL)
 * stops within a second.
 * ------------------------------------------------------------------------ */

#define MAXCANCEL 512

static struct
{
	PGcancel   *cancel;
	PGconn	   *conn;
	int			live;
}			g_cancel[MAXCANCEL];
static int	g_cancelling;
static pthread_mutex_t g_cancel_lock = PTHREAD_MUTEX_INITIALIZER;

static void
cancel_on_signal(int sig)
{
	static const char msg[] = "vecbench: signal: cancelling the statements of its connections\n";
	char		err[256];
	int			i;
	ssize_t		rc;

	__atomic_store_n(&g_cancelling, 1, __ATOMIC_SEQ_CST);
	rc = write(2, msg, sizeof(msg) - 1);
	(void) rc;
	for (i = 0; i < MAXCANCEL; i++)
		if (__atomic_load_n(&g_cancel[i].live, __ATOMIC_ACQUIRE))
		{
			PGcancel   *pc = __atomic_load_n(&g_cancel[i].cancel, __ATOMIC_ACQUIRE);

			if (pc)
				PQcancel(pc, err, sizeof(err));
		}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGINT and SIGTERM cancel the running statements, then end the process (main calls it) */
void
cancel_on_signal_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
cancel_register(PGconn *c)
{
	int			i;

	pthread_mutex_lock(&g_cancel_lock);
	for (i = 0; i < MAXCANCEL; i++)
		if (!__atomic_load_n(&g_cancel[i].live, __ATOMIC_ACQUIRE))
		{
			PGcancel   *old = g_cancel[i].cancel;

			/* a dead slot: no handler reads its PGcancel, unless one began before it died */
			if (old && !__atomic_load_n(&g_cancelling, __ATOMIC_SEQ_CST))
				PQfreeCancel(old);
			__atomic_store_n(&g_cancel[i].cancel, PQgetCancel(c), __ATOMIC_RELEASE);
			g_cancel[i].conn = c;
			__atomic_store_n(&g_cancel[i].live, 1, __ATOMIC_RELEASE);
			break;
		}
	pthread_mutex_unlock(&g_cancel_lock);
}

/* PQfinish of a db_connect connection */
void
db_finish(PGconn *c)
{
	int			i;

	pthread_mutex_lock(&g_cancel_lock);
	for (i = 0; i < MAXCANCEL; i++)
		if (g_cancel[i].conn == c && __atomic_load_n(&g_cancel[i].live, __ATOMIC_ACQUIRE))
		{
			__atomic_store_n(&g_cancel[i].live, 0, __ATOMIC_RELEASE);
			g_cancel[i].conn = NULL;
			break;
		}
	pthread_mutex_unlock(&g_cancel_lock);
	PQfinish(c);
}

/* ------------------------------------------------------------------------
 * connections and statements
 * ------------------------------------------------------------------------ */

static void
quiet_notice(void *arg, const char *msg)
{
	(void) arg;
	(void) msg;
}

PGconn *
db_connect(void)
{
	PGconn	   *c = PQconnectdb(O.conninfo);
	int			i;

	if (PQstatus(c) != CONNECTION_OK)
		die("connection failed: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	cancel_register(c);
	/* a client gone: its statement stops within a second (--set can override it) */
	if (PQserverVersion(c) >= 140000)
		db_exec(c, "SET client_connection_check_interval = 1000");
	for (i = 0; i < O.nsets; i++)
	{
		char	   *eq = strchr(O.sets[i], '=');
		char	   *val;

		if (!eq)
			die("--set expects NAME=VALUE, got '%s'", O.sets[i]);
		val = PQescapeLiteral(c, eq + 1, strlen(eq + 1));
		db_exec(c, "SET %.*s = %s", (int) (eq - O.sets[i]), O.sets[i], val);
		PQfreemem(val);
	}
	return c;
}

/* run SQL (printf-style); dies when it fails */
void
db_exec(PGconn *c, const char *fmt,...)
{
	va_list		ap;
	char	   *sql;
	PGresult   *r;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die("SQL failed: %s\n  %s", sql, PQerrorMessage(c));
	PQclear(r);
	free(sql);
}

/* returns 1 on success; prints the error (unless quiet) and returns 0 otherwise */
int
db_try(PGconn *c, int quiet, const char *sql)
{
	PGresult   *r = PQexec(c, sql);
	int			ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && !quiet)
		fprintf(stderr, "vecbench: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return ok;
}

static char *
db_vvalue(PGconn *c, const char *fmt, va_list ap)
{
	char	   *sql = xvasprintf(fmt, ap);
	PGresult   *r = PQexec(c, sql);
	char	   *res = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("SQL failed: %s\n  %s", sql, PQerrorMessage(c));
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		res = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(sql);
	return res;
}

/* first column of first row as malloc'd string, NULL for SQL NULL or no row */
char *
db_value(PGconn *c, const char *fmt,...)
{
	va_list		ap;
	char	   *res;

	va_start(ap, fmt);
	res = db_vvalue(c, fmt, ap);
	va_end(ap);
	return res;
}

/* the same as a number; -1 for NULL or no row */
long long
db_int(PGconn *c, const char *fmt,...)
{
	va_list		ap;
	char	   *v;
	long long	x;

	va_start(ap, fmt);
	v = db_vvalue(c, fmt, ap);
	va_end(ap);
	x = v ? atoll(v) : -1;
	free(v);
	return x;
}

void
db_prepare(PGconn *c, const char *name, const char *sql, int nparams, const Oid *types)
{
	PGresult   *r = PQprepare(c, name, sql, nparams, types);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("prepare %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

/* peak and current resident memory of a local backend, from /proc */
Mem
proc_mem(int pid)
{
	char		path[64],
				line[256];
	FILE	   *f;
	Mem			m = {-1, -1, -1};

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return m;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "VmHWM:", 6) == 0)
			m.hwm_kb = atol(line + 6);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			m.rss_kb = atol(line + 6);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			m.anon_kb = atol(line + 8);
	}
	fclose(f);
	return m;
}

/* ------------------------------------------------------------------------
 * binary send format of arrays (parameters and COPY)
 * ------------------------------------------------------------------------ */

void
append_be32(PQExpBuffer b, uint32_t v)
{
	v = htobe32(v);
	appendBinaryPQExpBuffer(b, (const char *) &v, 4);
}

static void
append_array_header(PQExpBuffer b, Oid elemtype, long n)
{
	append_be32(b, 1);			/* ndim */
	append_be32(b, 0);			/* flags: no nulls */
	append_be32(b, elemtype);
	append_be32(b, (uint32_t) n);
	append_be32(b, 1);			/* lower bound */
}

void
append_float_array(PQExpBuffer b, const float *v, int dim)
{
	int			j;

	append_array_header(b, FLOAT4OID, dim);
	for (j = 0; j < dim; j++)
	{
		uint32_t	w;

		append_be32(b, 4);
		memcpy(&w, v + j, 4);
		append_be32(b, w);
	}
}

void
append_int8_array(PQExpBuffer b, const int64_t *v, long n)
{
	long		j;

	append_array_header(b, INT8OID, n);
	for (j = 0; j < n; j++)
	{
		uint64_t	w = htobe64((uint64_t) v[j]);

		append_be32(b, 8);
		appendBinaryPQExpBuffer(b, (const char *) &w, 8);
	}
}

/* ------------------------------------------------------------------------
 * index specs (access method, opclass, column type, GUC) and table names
 * ------------------------------------------------------------------------ */

void
base_table_name(const Dataset *ds, char *out, size_t len)
{
	if (O.table[0])
		snprintf(out, len, "%s", O.table);
	else if (strcmp(ds->name, "fashion-mnist") == 0)
	{
		if (ds->n == 60000)
			snprintf(out, len, "vb_fmnist");
		else
			snprintf(out, len, "vb_fmnist_%ld", ds->n);
	}
	else
		snprintf(out, len, "vb_syn_%ld_%d_%s", ds->n, ds->dim, metric_names[ds->metric]);
}

static void
slugify(const char *in, char *out, size_t len)
{
	size_t		o = 0;

	for (; *in && o + 1 < len; in++)
		if (isalnum((unsigned char) *in))
			out[o++] = tolower((unsigned char) *in);
	out[o] = 0;
}

/* a preset: the first item of a spec, without '=' */
static void
spec_preset(Spec *s, const char *tok, const Dataset *ds)
{
	const char *label,
			   *am,
			   *ext;

	if (strcmp(tok, "vechnsw") == 0 || strcmp(tok, "vecidx") == 0)
		label = "vechnsw", am = "vechnsw", ext = "vecidx";
	else if (strcmp(tok, "pgvector") == 0 || strcmp(tok, "hnsw") == 0)
		label = "pgvector", am = "hnsw", ext = "vector";
	else if (strcmp(tok, "exact") == 0 || strcmp(tok, "seqscan") == 0)
		label = "exact", am = "none", ext = "vecidx";
	else
		die("unknown spec preset '%s' (vechnsw, pgvector, exact, or key=value;...)", tok);
	snprintf(s->label, sizeof(s->label), "%s", label);
	snprintf(s->am, sizeof(s->am), "%s", am);
	snprintf(s->ext, sizeof(s->ext), "%s", ext);
	if (strcmp(am, "hnsw") == 0)
		snprintf(s->type, sizeof(s->type), "vector(%d)", ds->dim);
	else
		snprintf(s->type, sizeof(s->type), "real[]");
}

/* "preset;key=value;..." into s, with the table, index and parameter names it resolves to */
void
spec_parse(Spec *s, const char *str, const Dataset *ds)
{
	static const struct
	{
		const char *key,
				   *alias;
		size_t		off,
					size;
	}			keys[] = {
#define SPECKEY(k, a, f) {k, a, offsetof(Spec, f), sizeof(((Spec *) 0)->f)}
		SPECKEY("am", NULL, am), SPECKEY("ops", "opclass", ops), SPECKEY("type", NULL, type),
		SPECKEY("guc", NULL, guc), SPECKEY("with", NULL, with), SPECKEY("ext", NULL, ext),
		SPECKEY("name", "label", label),
#undef SPECKEY
	};
	char	   *copy = xstrdup(str),
			   *tok,
			   *save = NULL;
	char		base[128],
				t[96];
	int			first = 1,
				hasam;

	memset(s, 0, sizeof(*s));
	snprintf(s->raw, sizeof(s->raw), "%s", str);
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save), first = 0)
	{
		char	   *eq = strchr(tok, '=');
		size_t		i;

		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (first && !eq)
		{
			spec_preset(s, tok, ds);
			continue;
		}
		if (!eq)
			die("spec item '%s' is not key=value", tok);
		*eq = 0;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(tok, keys[i].key) == 0 || (keys[i].alias && strcmp(tok, keys[i].alias) == 0))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			die("unknown spec key '%s' (am, ops, type, guc, with, ext, name)", tok);
		snprintf((char *) s + keys[i].off, keys[i].size, "%s", eq + 1);
	}
	free(copy);
	if (!s->am[0])
		die("spec '%s' names no access method (am=...)", str);
	hasam = strcmp(s->am, "none") != 0;
	if (!s->type[0])
		snprintf(s->type, sizeof(s->type), "real[]");
	slugify(s->type, t, sizeof(t));
	/* real[] or float4[] (any spelling): the base tables serve as they are */
	s->is_real = (strcmp(t, "real") == 0 || strcmp(t, "float4") == 0) && strchr(s->type, '[');
	if (!s->ops[0] && hasam)
	{
		if (strncmp(s->type, "vector", 6) == 0)
			snprintf(s->ops, sizeof(s->ops), "vector_%s_ops", metric_names[ds->metric]);
		else if (strncmp(s->type, "halfvec", 7) == 0)
			snprintf(s->ops, sizeof(s->ops), "halfvec_%s_ops", metric_names[ds->metric]);
		else if (s->is_real)
			snprintf(s->ops, sizeof(s->ops), "real_%s_ops", metric_names[ds->metric]);
		else
			die("spec '%s': give the operator class (ops=...)", str);
	}
	if (!s->guc[0] && hasam)
		snprintf(s->guc, sizeof(s->guc), "%s.ef_search", s->am);
	if (!s->with[0] && hasam)
		snprintf(s->with, sizeof(s->with), "%s", O.with);
	if (!s->label[0])
		snprintf(s->label, sizeof(s->label), "%s", s->am);

	base_table_name(ds, base, sizeof(base));
	if (s->is_real)
	{
		snprintf(s->table, sizeof(s->table), "%s", base);
		snprintf(s->qtable, sizeof(s->qtable), "%s_q", base);
		snprintf(s->param, sizeof(s->param), "$1");
	}
	else
	{
		snprintf(s->table, sizeof(s->table), "%s_%s", base, t);
		snprintf(s->qtable, sizeof(s->qtable), "%s_q_%s", base, t);
		snprintf(s->param, sizeof(s->param), "$1::real[]::%s", s->type);
	}
	snprintf(s->index, sizeof(s->index), "%.40s_%.16s_idx", s->table, s->am);
}

/* the --spec options (default: vechnsw) */
void
default_specs(Spec *specs, int *nspec, const Dataset *ds)
{
	int			i;

	if (O.nspec == 0)
	{
		O.specstr[0] = "vechnsw";
		O.nspec = 1;
	}
	for (i = 0; i < O.nspec; i++)
		spec_parse(&specs[i], O.specstr[i], ds);
	*nspec = O.nspec;
}

/* ------------------------------------------------------------------------
 * load: binary COPY of base, query and extra vectors; vecbench_meta marks
 * what a table holds so that the next run can skip the load
 * ------------------------------------------------------------------------ */

static void
ensure_meta_table(PGconn *c)
{
	db_exec(c, "CREATE TABLE IF NOT EXISTS vecbench_meta (tbl text PRIMARY KEY, key text NOT NULL, "
			"rows bigint NOT NULL, loaded timestamptz NOT NULL DEFAULT now())");
}

static int
meta_matches(PGconn *c, const char *tbl, const char *key, long rows)
{
	char	   *esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	char	   *esc_k = PQescapeLiteral(c, key, strlen(key));
	long long	n;

	n = db_int(c, "SELECT count(*) FROM vecbench_meta WHERE tbl = %s AND key = %s AND rows = %ld "
			   "AND to_regclass(%s) IS NOT NULL", esc_t, esc_k, rows, esc_t);
	PQfreemem(esc_t);
	PQfreemem(esc_k);
	return n == 1;
}

/* the vecbench_meta row of tbl: key and rows, loaded now */
void
meta_set(PGconn *c, const char *tbl, const char *key, long rows)
{
	char	   *esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	char	   *esc_k = PQescapeLiteral(c, key, strlen(key));

	db_exec(c, "INSERT INTO vecbench_meta (tbl, key, rows) VALUES (%s, %s, %ld) ON CONFLICT (tbl) DO UPDATE "
			"SET key = EXCLUDED.key, rows = EXCLUDED.rows, loaded = now()", esc_t, esc_k, rows);
	PQfreemem(esc_t);
	PQfreemem(esc_k);
}

/*
 * The storage of v in a table (idcol bigint, v) whose values take value_bytes
 * uncompressed.  "auto": PLAIN when the row fits a heap page uncompressed
 * (24-byte tuple header + 8-byte id + the value within MaxHeapTupleSize, 8160
 * bytes with 8 kB pages: 2,026 dimensions as real[]), EXTERNAL above (out of
 * line, never compressed).  The query and extra tables (side) always get
 * "auto": the query table stands for the query parameter, which must not
 * cost a de-TOAST per row compared whatever the base table's --storage.
 */
const char *
vector_storage(long value_bytes, int side)
{
	if (!side && strcmp(O.storage, "auto") != 0)
		return O.storage;
	return 24 + 8 + value_bytes <= 8160 ? "plain" : "external";
}

/* (re)create TABLE (idcol bigint, v TYPE) with storage of v (default: the type's) */
static void
create_vector_table(PGconn *c, const char *table, const char *idcol, const char *type, const char *storage)
{
	db_exec(c, "DROP TABLE IF EXISTS %s CASCADE", table);
	db_exec(c, "CREATE TABLE %s (%s bigint NOT NULL, v %s NOT NULL)", table, idcol, type);
	if (strcmp(storage, "default") != 0)
		db_exec(c, "ALTER TABLE %s ALTER COLUMN v SET STORAGE %s", table, storage);
}

/* a finished query or side table: primary key, statistics, marker */
static void
finish_side_table(PGconn *c, const char *table, const char *idcol, const char *key, long rows)
{
	db_exec(c, "ALTER TABLE %s ADD PRIMARY KEY (%s)", table, idcol);
	db_exec(c, "VACUUM (ANALYZE) %s", table);
	meta_set(c, table, key, rows);
}

static void
copy_put(PGconn *c, PQExpBuffer b)
{
	buf_check(b);
	if (b->len == 0)
		return;
	if (PQputCopyData(c, b->data, (int) b->len) != 1)
		die("COPY failed: %s", PQerrorMessage(c));
	resetPQExpBuffer(b);
}

/*
 * one binary COPY of vecs[0..n) (ids id0 + i) into table, in the caller's
 * transaction; p: a progress bar of rows done0 + i out of total, or NULL
 */
static void
copy_rows(PGconn *c, const char *table, const float *vecs, long n, int dim, long id0, Progress *p, long total)
{
	PQExpBufferData b;
	PGresult   *r;
	long		i;
	char		sql[320],
				det[160];
	static const char hdr[] = "PGCOPY\n\377\r\n\0";
	uint16_t	be16;

	snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", table);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		die("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	initPQExpBuffer(&b);
	appendBinaryPQExpBuffer(&b, hdr, 11);
	append_be32(&b, 0);			/* flags */
	append_be32(&b, 0);			/* header extension length */
	for (i = 0; i < n; i++)
	{
		uint64_t	id = htobe64((uint64_t) (id0 + i));

		be16 = htobe16(2);		/* fields */
		appendBinaryPQExpBuffer(&b, (const char *) &be16, 2);
		append_be32(&b, 8);
		appendBinaryPQExpBuffer(&b, (const char *) &id, 8);
		append_be32(&b, 20 + 8 * dim);
		append_float_array(&b, vecs + (size_t) i * dim, dim);
		if (b.len > (1 << 20))
		{
			copy_put(c, &b);
			if (p)
			{
				snprintf(det, sizeof(det), "%ld / %ld rows into %s", i + 1, total, table);
				progress_show(p, (double) (i + 1) / total, det);
			}
		}
	}
	be16 = htobe16(0xffff);		/* trailer */
	appendBinaryPQExpBuffer(&b, (const char *) &be16, 2);
	copy_put(c, &b);
	if (PQputCopyEnd(c, NULL) != 1)
		die("COPY end failed: %s", PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die("COPY into %s failed: %s", table, PQerrorMessage(c));
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	termPQExpBuffer(&b);
}

/* (re)create TABLE (idcol bigint, v real[]) and fill it with binary COPY */
static double
copy_vectors(PGconn *c, const char *table, const char *idcol, const float *vecs, long n, int dim, long id0,
			 const char *storage)
{
	double		t0 = now_sec();
	Progress	p;
	char		label[64],
				det[160];

	create_vector_table(c, table, idcol, "real[]", storage);
	db_exec(c, "BEGIN");
	snprintf(label, sizeof(label), "load %s", idcol);
	progress_start(&p, strcmp(idcol, "id") == 0 ? "load" : label);
	copy_rows(c, table, vecs, n, dim, id0, &p, n);
	db_exec(c, "COMMIT");
	snprintf(det, sizeof(det), "%ld rows into %s", n, table);
	progress_show(&p, 1.0, det);
	progress_end(&p);
	return now_sec() - t0;
}

/* the marker key of tbl when the table exists (malloc'd), else NULL */
static char *
meta_key(PGconn *c, const char *tbl, long *rows)
{
	char	   *esc_t = PQescapeLiteral(c, tbl, strlen(tbl));
	char	   *key,
			   *r;

	key = db_value(c, "SELECT key FROM vecbench_meta WHERE tbl = %s AND to_regclass(%s) IS NOT NULL", esc_t, esc_t);
	r = db_value(c, "SELECT rows FROM vecbench_meta WHERE tbl = %s", esc_t);
	*rows = r ? atol(r) : -1;
	free(r);
	PQfreemem(esc_t);
	return key;
}

#define LOADING_PREFIX "loading:"	/* marker of a streamed load under way: rows = rows committed */
#define WRITTEN_PREFIX "written:"	/* marker of a table changed by 'write --in-place' */

typedef struct LoadPass
{
	PGconn	   *c;
	const char *table;
	char	   *esc_t,
			   *esc_k;			/* the table and its "loading:" marker, as literals */
	int			dim;
} LoadPass;

/* a chunk of a streamed load: COPY and the marker's row count, one transaction */
static void
load_chunk(const float *vecs, long lo, long hi, void *arg)
{
	LoadPass   *P = arg;
	PGresult   *r;
	char		upd[1024];

	db_exec(P->c, "BEGIN");
	copy_rows(P->c, P->table, vecs, hi - lo, P->dim, lo, NULL, 0);
	snprintf(upd, sizeof(upd), "UPDATE vecbench_meta SET rows = %ld, loaded = now() WHERE tbl = %s AND key = %s "
			 "AND rows = %ld", hi, P->esc_t, P->esc_k, lo);
	r = PQexec(P->c, upd);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdTuples(r), "1") != 0)
		die("load: the marker of %s does not say %ld rows loaded (another load at the same time?) %s",
			P->table, lo, PQerrorMessage(P->c));
	PQclear(r);
	db_exec(P->c, "COMMIT");
}

/*
 * A streamed data set's base table: chunks of rows generated and copied in
 * order, each chunk with the marker's row count in its own transaction, so
 * that an interrupted load resumes after the last chunk committed (ids are
 * the row numbers, 0 ... n - 1).  --force starts again from scratch.
 */
static void
load_streamed(PGconn *c, const Dataset *ds, const char *base, const char *key, const char *storage,
			  LoadResult *lr)
{
	char		lkey[440];
	char	   *cur;
	long		done = -1,
				rows;
	LoadPass	P;

	snprintf(lkey, sizeof(lkey), "%s%s", LOADING_PREFIX, key);
	cur = meta_key(c, base, &rows);
	if (!O.force && cur && strcmp(cur, lkey) == 0 && rows >= 0 && rows <= ds->n)
		done = rows;
	free(cur);
	if (done < 0)
	{
		db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE '%s%%'", base);
		create_vector_table(c, base, "id", "real[]", storage);
		meta_set(c, base, lkey, 0);
		done = 0;
	}
	else if (!O.quiet)
		fprintf(stderr, "load: resuming %s after row %ld of %ld (the rows of earlier runs are kept)\n", base, done,
				ds->n);
	lr->resumed_from = done;
	P.c = c;
	P.table = base;
	P.esc_t = PQescapeLiteral(c, base, strlen(base));
	P.esc_k = PQescapeLiteral(c, lkey, strlen(lkey));
	P.dim = ds->dim;
	lr->seconds = dataset_stream(ds, done, "load", load_chunk, &P);
	lr->rows = ds->n - done;
	PQfreemem(P.esc_t);
	PQfreemem(P.esc_k);
}

/* load the base/query/extra tables of ds as real[] (skipped when the marker matches) */
void
load_base_tables(PGconn *c, const Dataset *ds, LoadResult *lr)
{
	char		base[128],
				tq[160],
				tx[160],
				key[400];
	const char *storage,
			   *side = vector_storage(24 + 4L * ds->dim, 1);
	int			written = 0;

	memset(lr, 0, sizeof(*lr));
	ensure_meta_table(c);
	base_table_name(ds, base, sizeof(base));
	snprintf(tq, sizeof(tq), "%s_q", base);
	snprintf(tx, sizeof(tx), "%s_x", base);
	storage = vector_storage(24 + 4L * ds->dim, 0);
	snprintf(key, sizeof(key), "%s-%s", ds->tabkey, storage);
	if (!O.force)
	{
		long		rows;
		char	   *cur = meta_key(c, base, &rows);

		if (cur && strncmp(cur, WRITTEN_PREFIX, strlen(WRITTEN_PREFIX)) == 0)
		{
			/* write --in-place --resume goes on with the table as the cut-short write left it */
			if (O.in_place && O.resume && strcmp(cur + strlen(WRITTEN_PREFIX), key) == 0 && rows == ds->n)
				written = 1;
			else if (O.in_place && O.resume)
				die("write --in-place --resume: table %s was loaded as %s (%ld rows), these data-set options "
					"make %s (%ld rows): resume with the options of the write cut short", base,
					cur + strlen(WRITTEN_PREFIX), rows, key, ds->n);
			else
				die("table %s was changed by 'write --in-place' (rows inserted and deleted, its index too): "
					"reload it with 'vecbench load --force' and the same data-set options (a 'write --in-place' "
					"cut short on it goes on with 'write --in-place --resume' and its options)", base);
		}
		free(cur);
	}
	if (written || (!O.force && meta_matches(c, base, key, ds->n)))
	{
		lr->skipped = 1;
		if (!O.quiet && !written)
			fprintf(stderr, "load: %s already holds this data set (use --force to reload)\n", base);
	}
	else
	{
		double		t0;

		if (O.in_place && O.resume)
			die("write --in-place --resume: %s does not hold this data set (not loaded, or loaded with other "
				"options), so there is no write on it to go on with: give the options of the write cut short "
				"(--n, --dim, --seed ...), or run without --resume", base);
		if (ds->streamed)
			load_streamed(c, ds, base, key, storage, lr);
		else
		{
			db_exec(c, "DELETE FROM vecbench_meta WHERE tbl LIKE '%s%%'", base);
			lr->seconds = copy_vectors(c, base, "id", ds->base, ds->n, ds->dim, 0, storage);
			lr->rows = ds->n;
		}
		if (!O.quiet && ds->streamed)
			fprintf(stderr, "load: VACUUM (ANALYZE) %s...\n", base);
		t0 = now_sec();
		if (ds->streamed)
		{
			/*
			 * the rows of runs before and this one's together: a VACUUM that
			 * scans every page counts the rows alive exactly (reltuples; the
			 * ANALYZE after it would put its estimate there); count(*) when
			 * that does not say n (pages skipped, or rows missing indeed)
			 */
			long long	rows;

			db_exec(c, "VACUUM %s", base);
			rows = db_int(c, "SELECT reltuples::bigint FROM pg_class WHERE oid = '%s'::regclass", base);
			if (rows != ds->n)
			{
				if (!O.quiet)
					fprintf(stderr, "load: VACUUM counted %lld rows in %s, %ld expected: count(*)...\n", rows,
							base, ds->n);
				rows = db_int(c, "SELECT count(*) FROM %s", base);
			}
			if (rows != ds->n)
				die("load: %s holds %lld rows after the last chunk, %ld expected (rows lost or doubled between "
					"the runs of a resumed load?): reload it with 'vecbench load --force' (bench/scale.sh: "
					"--redo load)", base, rows, ds->n);
			db_exec(c, "ANALYZE %s", base);
		}
		else
			db_exec(c, "VACUUM (ANALYZE) %s", base);
		lr->vacuum_seconds = now_sec() - t0;
		meta_set(c, base, key, ds->n);
	}
	snprintf(key, sizeof(key), "%s-q-%016llx-%s", ds->tabkey, (unsigned long long) ds->ck_query, side);
	if (O.force || !meta_matches(c, tq, key, ds->nq))
	{
		copy_vectors(c, tq, "qid", ds->query, ds->nq, ds->dim, 0, side);
		finish_side_table(c, tq, "qid", key, ds->nq);
	}
	snprintf(key, sizeof(key), "%s-x-%016llx-%s", ds->tabkey, (unsigned long long) ds->ck_extra, side);
	if (O.force || !meta_matches(c, tx, key, ds->nextra))
	{
		copy_vectors(c, tx, "xid", ds->extra, ds->nextra, ds->dim, 0, side);
		finish_side_table(c, tx, "xid", key, ds->nextra);
	}
	lr->table_bytes = db_int(c, "SELECT pg_table_size('%s')", base);
}

/*
 * mark table as changed by 'write --in-place' (before the first change):
 * the load that made it no longer describes it
 */
void
mark_table_written(PGconn *c, const char *table)
{
	char	   *esc_t = PQescapeLiteral(c, table, strlen(table));

	ensure_meta_table(c);
	db_exec(c, "UPDATE vecbench_meta SET key = '%s' || key WHERE tbl = %s AND key NOT LIKE '%s%%'", WRITTEN_PREFIX,
			esc_t, WRITTEN_PREFIX);
	PQfreemem(esc_t);
}

/* is table marked changed by 'write --in-place'? */
int
table_written(PGconn *c, const char *table)
{
	char	   *esc_t = PQescapeLiteral(c, table, strlen(table));
	long long	n;

	ensure_meta_table(c);
	n = db_int(c, "SELECT count(*) FROM vecbench_meta WHERE tbl = %s AND key LIKE '%s%%'", esc_t, WRITTEN_PREFIX);
	PQfreemem(esc_t);
	return n > 0;
}

static void
ensure_extension(PGconn *c, const Spec *s)
{
	char		sql[256];

	if (!s->ext[0])
		return;
	snprintf(sql, sizeof(sql), "CREATE EXTENSION IF NOT EXISTS %s", s->ext);
	if (!db_try(c, 0, sql))
		die("extension %s is needed for spec '%s' (is it installed?)", s->ext, s->raw);
}

/* the spec's own copy of the base and query tables when its column type is not real[] */
void
ensure_spec_tables(PGconn *c, const Dataset *ds, const Spec *s)
{
	char		base[128],
				srcq[160],
				key[600];
	int			pass;

	ensure_extension(c, s);
	if (s->is_real)
		return;
	base_table_name(ds, base, sizeof(base));
	snprintf(srcq, sizeof(srcq), "%s_q", base);
	for (pass = 0; pass < 2; pass++)
	{
		const char *src = pass == 0 ? base : srcq;
		const char *dst = pass == 0 ? s->table : s->qtable;
		const char *idcol = pass == 0 ? "id" : "qid";
		long		rows = pass == 0 ? ds->n : ds->nq;
		char	   *srckey;
		const char *storage;

		/* the uncompressed size of the value in the spec's type decides "auto" */
		storage = vector_storage(db_int(c, "SELECT pg_column_size(v::%s) FROM %s LIMIT 1", s->type, src), pass);
		srckey = db_value(c, "SELECT key || ':' || loaded FROM vecbench_meta WHERE tbl = '%s'", src);
		snprintf(key, sizeof(key), "%s|%s|%s", srckey ? srckey : "?", s->type, storage);
		free(srckey);
		if (!O.force && meta_matches(c, dst, key, rows))
			continue;
		if (!O.quiet)
			fprintf(stderr, "load: creating %s (%s, storage %s) from %s\n", dst, s->type, storage, src);
		create_vector_table(c, dst, idcol, s->type, storage);
		db_exec(c, "INSERT INTO %s SELECT %s, v::%s FROM %s", dst, idcol, s->type, src);
		if (pass == 1)
			finish_side_table(c, dst, idcol, key, rows);
		else
		{
			db_exec(c, "VACUUM (ANALYZE) %s", dst);
			meta_set(c, dst, key, rows);
		}
	}
}

/* the data set of the options, and its ground truth when with_gt */
void
run_data(Run *r, int with_gt)
{
	memset(r, 0, sizeof(*r));
	dataset_load(&r->ds);
	r->has_gt = with_gt;
	if (with_gt)
		gt_get(&r->ds, &r->gt);
}

/* a connection (and the run facts), the base tables loaded, the specs */
void
run_connect(Run *r)
{
	LoadResult	lr;

	r->c = setup_connection();
	load_base_tables(r->c, &r->ds, &lr);
	default_specs(r->specs, &r->nspec, &r->ds);
}

void
start_run(Run *r, int with_gt)
{
	run_data(r, with_gt);
	run_connect(r);
}

void
end_run(Run *r)
{
	db_finish(r->c);
	if (r->has_gt)
		gt_free(&r->gt);
	dataset_free(&r->ds);
}

/* load: the base, query and extra tables, and the tables of the --spec's */
int
cmd_load(void)
{
	Dataset		ds;
	PGconn	   *c;
	LoadResult	lr;
	Spec		specs[MAXSPECS];
	int			nspec,
				i;
	Json		j;
	char		base[128];

	dataset_load(&ds);
	c = setup_connection();
	load_base_tables(c, &ds, &lr);
	if (O.nspec > 0)
	{
		default_specs(specs, &nspec, &ds);
		for (i = 0; i < nspec; i++)
			ensure_spec_tables(c, &ds, &specs[i]);
	}
	base_table_name(&ds, base, sizeof(base));
	printf("load: table %s, %ld rows, dim %d, %.1f MB%s", base, ds.n, ds.dim, lr.table_bytes / 1048576.0,
		   lr.skipped ? " (already loaded)\n" : "");
	if (!lr.skipped)
	{
		if (lr.resumed_from > 0)
			printf(", resumed after row %ld", lr.resumed_from);
		printf(", COPY %.1f s (%ld rows, %.0f rows/s%s), VACUUM ANALYZE %.1f s\n", lr.seconds, lr.rows,
			   rows_per_s(lr.rows, lr.seconds), ds.streamed ? ", generation included" : "", lr.vacuum_seconds);
	}
	meta_refresh_extensions(c);
	json_run_begin(&j, "load", &ds, NULL);
	j_bool(&j, "skipped", lr.skipped);
	j_num(&j, "copy_seconds", lr.seconds);
	j_num(&j, "rows_per_second", lr.skipped ? NAN : rows_per_s(lr.rows, lr.seconds));
	j_int(&j, "rows_copied", lr.skipped ? 0 : lr.rows);
	j_int(&j, "resumed_from", lr.resumed_from);
	j_num(&j, "vacuum_analyze_seconds", lr.vacuum_seconds);
	j_int(&j, "table_bytes", lr.table_bytes);
	j_num(&j, "dataset_seconds", ds.load_seconds);
	json_run_end(&j);
	db_finish(c);
	dataset_free(&ds);
	return 0;
}
