/*
 * bench_report.c: the results file.  Every run appends one JSON object (one
 * line) to --results: the tool and format, time, git commit, server version,
 * extensions (and the build time of their libraries), server settings,
 * machine, data set, spec and parameters, then "results", filled in by the
 * subcommand.  Holds the small JSON writer (on libpq's PQExpBuffer) and the
 * collection of those run facts.
 */
#include "vecbench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * JSON writer: j_obj / j_arr open, j_end closes; key NULL inside
 * arrays and for the top object
 * ------------------------------------------------------------------------ */

static void
j_init(Json *j)
{
	memset(j, 0, sizeof(*j));
	initPQExpBuffer(&j->b);
}

void
j_key(Json *j, const char *key)
{
	if (j->need_comma[j->depth])
		appendPQExpBufferChar(&j->b, ',');
	j->need_comma[j->depth] = 1;
	if (key)
		appendPQExpBuffer(&j->b, "\"%s\":", key);
}

/* a value that is JSON text already */
void
j_raw(Json *j, const char *key, const char *json)
{
	j_key(j, key);
	appendPQExpBufferStr(&j->b, json);
}

static void
j_rawstr(Json *j, const char *s)
{
	const unsigned char *p;

	appendPQExpBufferChar(&j->b, '"');
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			appendPQExpBufferChar(&j->b, '\\');
		if (*p < 0x20)
			appendPQExpBuffer(&j->b, "\\u%04x", *p);
		else
			appendPQExpBufferChar(&j->b, (char) *p);
	}
	appendPQExpBufferChar(&j->b, '"');
}

static void
j_open(Json *j, const char *key, char open, char close)
{
	j_key(j, key);
	appendPQExpBufferChar(&j->b, open);
	j->depth++;
	j->need_comma[j->depth] = 0;
	j->closer[j->depth] = close;
}

void
j_obj(Json *j, const char *key)
{
	j_open(j, key, '{', '}');
}

void
j_arr(Json *j, const char *key)
{
	j_open(j, key, '[', ']');
}

/* close the innermost object or array */
void
j_end(Json *j)
{
	appendPQExpBufferChar(&j->b, j->closer[j->depth]);
	j->depth--;
}

void
j_str(Json *j, const char *key, const char *v)
{
	j_key(j, key);
	if (v)
		j_rawstr(j, v);
	else
		appendPQExpBufferStr(&j->b, "null");
}

void
j_num(Json *j, const char *key, double v)
{
	j_key(j, key);
	if (isnan(v) || isinf(v))
		appendPQExpBufferStr(&j->b, "null");
	else if (v == floor(v) && fabs(v) < 1e15)
		appendPQExpBuffer(&j->b, "%.0f", v);
	else
		appendPQExpBuffer(&j->b, "%.6g", v);
}

void
j_int(Json *j, const char *key, long long v)
{
	j_key(j, key);
	appendPQExpBuffer(&j->b, "%lld", v);
}

void
j_bool(Json *j, const char *key, int v)
{
	j_key(j, key);
	appendPQExpBufferStr(&j->b, v ? "true" : "false");
}

/* memory of a backend (or the most of several), kB */
void
j_mem(Json *j, const Mem *m)
{
	j_int(j, "backend_peak_rss_kb", m->hwm_kb);
	j_int(j, "backend_rss_kb", m->rss_kb);
	j_int(j, "backend_anon_kb", m->anon_kb);
}

/* what a spec asks for (the members of its object) */
void
j_spec(Json *j, const Spec *s)
{
	j_str(j, "label", s->label);
	j_str(j, "am", s->am);
	j_str(j, "opclass", s->ops);
	j_str(j, "column_type", s->type);
	j_str(j, "guc", s->guc);
	j_str(j, "with", s->with);
}

/* ------------------------------------------------------------------------
 * run metadata: machine and git once, server facts again before each
 * result (a run may create extensions)
 * ------------------------------------------------------------------------ */

typedef struct Meta
{
	int			loaded;
	char	   *git_commit;
	int			git_dirty;
	char		hostname[256];
	char		kernel[256];
	char		cpu[256];
	int			ncpu;
	long long	mem_bytes;
	char	   *pg_version;
	char	   *extensions;		/* JSON object text */
	char	   *settings;		/* JSON object text */
} Meta;

static Meta g_meta;

static void
meta_machine(void)
{
	struct utsname u;
	FILE	   *f;
	char		line[512],
				cmd[1200];
	char	   *dirty;

	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD 2>/dev/null", g_exedir);
	g_meta.git_commit = popen_line(cmd);
	snprintf(cmd, sizeof(cmd), "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -1", g_exedir);
	dirty = popen_line(cmd);
	g_meta.git_dirty = dirty && *dirty;
	free(dirty);
	gethostname(g_meta.hostname, sizeof(g_meta.hostname) - 1);
	if (uname(&u) == 0)
		snprintf(g_meta.kernel, sizeof(g_meta.kernel), "%.80s %.80s %.80s", u.sysname, u.release, u.machine);
	g_meta.ncpu = (int) sysconf(_SC_NPROCESSORS_ONLN);
	g_meta.mem_bytes = (long long) sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	f = fopen("/proc/cpuinfo", "r");
	if (f)
	{
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0)
			{
				char	   *p = strchr(line, ':');

				if (p)
				{
					p++;
					while (*p == ' ')
						p++;
					p[strcspn(p, "\n")] = 0;
					snprintf(g_meta.cpu, sizeof(g_meta.cpu), "%s", p);
				}
				break;
			}
		fclose(f);
	}
}

/* {"name": "value", ...} of a two-column result; NULL: no rows */
static void
j_pairs(Json *j, const PGresult *r)
{
	int			i;

	for (i = 0; r && i < PQntuples(r); i++)
		j_str(j, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
}

static char *
json_text(Json *j)
{
	char	   *s;

	buf_check(&j->b);
	s = xstrdup(j->b.data);
	termPQExpBuffer(&j->b);
	return s;
}

static void
meta_server(PGconn *c)
{
	PGresult   *r;
	Json		j;

	g_meta.pg_version = db_value(c, "SHOW server_version");
	r = PQexec(c, "SELECT extname, extversion FROM pg_extension ORDER BY 1");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		PQclear(r);
		r = NULL;
	}
	j_init(&j);
	j_obj(&j, NULL);
	j_pairs(&j, r);
	/* modification time of each extension's shared library, when the server is local:
	 * tells which build of the code a run used while the code is being changed */
	if (r)
	{
		PGresult   *r2 = PQexec(c, "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'");
		char	   *libdir = NULL;	/* pg_config is for superusers only */
		int			i;

		if (PQresultStatus(r2) == PGRES_TUPLES_OK && PQntuples(r2) == 1)
			libdir = xstrdup(PQgetvalue(r2, 0, 0));
		PQclear(r2);

		j_obj(&j, "_library_mtime");
		for (i = 0; libdir && i < PQntuples(r); i++)
		{
			char		path[1200],
						ts[64];
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s.so", libdir, PQgetvalue(r, i, 0));
			if (stat(path, &st) == 0)
			{
				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
				j_str(&j, PQgetvalue(r, i, 0), ts);
			}
		}
		j_end(&j);
		free(libdir);
	}
	j_end(&j);
	PQclear(r);
	g_meta.extensions = json_text(&j);

	r = PQexec(c, "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
			   "('shared_buffers','maintenance_work_mem','work_mem','max_parallel_maintenance_workers',"
			   "'max_parallel_workers_per_gather','max_worker_processes','effective_cache_size','jit',"
			   "'fsync','synchronous_commit','full_page_writes','wal_level','max_wal_size','autovacuum',"
			   "'random_page_cost','huge_pages') ORDER BY 1");
	j_init(&j);
	j_obj(&j, NULL);
	j_pairs(&j, PQresultStatus(r) == PGRES_TUPLES_OK ? r : NULL);
	j_end(&j);
	PQclear(r);
	g_meta.settings = json_text(&j);
}

void
meta_collect(PGconn *c)
{
	if (g_meta.loaded)
		return;
	g_meta.loaded = 1;
	meta_machine();
	meta_server(c);
}

void
meta_refresh_extensions(PGconn *c)
{
	if (!g_meta.loaded)
	{
		meta_collect(c);
		return;
	}
	free(g_meta.pg_version);
	free(g_meta.extensions);
	free(g_meta.settings);
	meta_server(c);
}

/* a connection, and the run facts */
PGconn *
setup_connection(void)
{
	PGconn	   *c = db_connect();

	meta_collect(c);
	return c;
}

/* options the results record among their "params": of all runs, and of one subcommand */
static const char *const query_opts[] = {"k", "values", "clients", "repeat", "warmup"};
static const char *const write_opts[] = {"insert-rows", "batches", "delete-frac", "delete-batch", "cycles",
"cycle-frac", "write-nq"};
static const char *const churn_opts[] = {"delete-frac", "cycle-frac", "cycles", "reinsert-batch",
"delete-batch", "write-nq", "seed"};
static const char *const compare_opts[] = {"runs"};
static const char *const soak_opts[] = {"duration", "report-every", "writers", "readers", "vacuum-interval",
"recall-queries", "read-rate", "write-rate", "seed"};
static const struct
{
	const char *sub;
	const char *const *opts;
	int			n;
}			sub_params[] = {
	{"write", write_opts, sizeof(write_opts) / sizeof(write_opts[0])},
	{"churn", churn_opts, sizeof(churn_opts) / sizeof(churn_opts[0])},
	{"compare", compare_opts, sizeof(compare_opts) / sizeof(compare_opts[0])},
	{"soak", soak_opts, sizeof(soak_opts) / sizeof(soak_opts[0])},
};

/* begin one result object; the caller fills "results" and calls json_run_end */
void
json_run_begin(Json *j, const char *sub, const Dataset *ds, const Spec *s)
{
	time_t		t = time(NULL);
	char		ts[64];
	int			i;

	j_init(j);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	j_obj(j, NULL);
	j_str(j, "tool", "vecbench");
	j_int(j, "format", 1);
	j_str(j, "subcommand", sub);
	j_str(j, "time", ts);
	j_str(j, "git_commit", g_meta.git_commit);
	j_bool(j, "git_dirty", g_meta.git_dirty);
	j_str(j, "pg_version", g_meta.pg_version);
	j_raw(j, "extensions", g_meta.extensions ? g_meta.extensions : "{}");
	j_raw(j, "server_settings", g_meta.settings ? g_meta.settings : "{}");
	j_obj(j, "machine");
	j_str(j, "hostname", g_meta.hostname);
	j_str(j, "kernel", g_meta.kernel);
	j_str(j, "cpu", g_meta.cpu);
	j_int(j, "cpus", g_meta.ncpu);
	j_int(j, "mem_bytes", g_meta.mem_bytes);
	{
		/* other load on the machine at the end of the run (noise indicator) */
		FILE	   *f = fopen("/proc/loadavg", "r");
		char		la[128] = "";

		if (f)
		{
			if (fgets(la, sizeof(la), f))
				la[strcspn(la, "\n")] = 0;
			fclose(f);
		}
		j_str(j, "loadavg", la);
	}
	j_end(j);
	if (ds)
	{
		j_obj(j, "dataset");
		j_str(j, "name", ds->name);
		j_str(j, "key", ds->key);
		j_int(j, "n", ds->n);
		j_int(j, "dim", ds->dim);
		j_int(j, "nq", ds->nq);
		j_int(j, "nextra", ds->nextra);
		j_str(j, "metric", metric_names[ds->metric]);
		if (strcmp(ds->name, "synthetic") == 0)
		{
			j_bool(j, "streamed", ds->streamed);
			if (ds->streamed)
				j_num(j, "generation_pass_seconds", ds->pass_seconds);
			j_int(j, "seed", (long long) O.seed);
			j_int(j, "clusters", O.clusters);
			j_int(j, "intrinsic_dim", O.idim);
			j_num(j, "noise", O.noise);
			j_num(j, "spread", O.spread);
			j_bool(j, "normalize", O.normalize >= 0 ? O.normalize : ds->metric == METRIC_COSINE);
		}
		j_end(j);
	}
	if (s)
	{
		j_obj(j, "spec");
		j_spec(j, s);
		j_str(j, "table", s->table);
		j_str(j, "index", s->index);
		j_end(j);
	}
	j_obj(j, "params");
	j_options(j, query_opts, sizeof(query_opts) / sizeof(query_opts[0]));
	j_str(j, "plan", O.generic ? "generic" : "custom");
	j_bool(j, "server_side", O.server_side);
	j_bool(j, "exact", O.exact);
	j_str(j, "storage", ds ? vector_storage(24 + 4L * ds->dim, 0) : O.storage);
	j_int(j, "threads", g_threads);
	j_arr(j, "set");
	for (i = 0; i < O.nsets; i++)
		j_str(j, NULL, O.sets[i]);
	j_end(j);
	for (i = 0; i < (int) (sizeof(sub_params) / sizeof(sub_params[0])); i++)
		if (strcmp(sub, sub_params[i].sub) == 0)
			j_options(j, sub_params[i].opts, sub_params[i].n);
	j_end(j);
	if (O.note[0])
		j_str(j, "note", O.note);
	j_obj(j, "results");
}

/* close the object and append it to --results (unless '-') */
void
json_run_end(Json *j)
{
	FILE	   *f;

	j_end(j);					/* results */
	j_end(j);					/* top */
	buf_check(&j->b);
	if (O.results[0] && strcmp(O.results, "-") != 0)
	{
		f = fopen(O.results, "a");
		if (!f)
			fprintf(stderr, "vecbench: cannot append to %s: %s\n", O.results, strerror(errno));
		else
		{
			fprintf(f, "%s\n", j->b.data);
			fclose(f);
		}
	}
	termPQExpBuffer(&j->b);
}
