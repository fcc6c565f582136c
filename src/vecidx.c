/*-------------------------------------------------------------------------
 *
 * vecidx.c
 *	  Module entry: GUCs, reloptions, the vechnsw handler, per-index
 *	  cached information.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>

#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "commands/defrem.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "vecidx.h"

PG_MODULE_MAGIC;

int			vechnsw_ef_search = VECHNSW_DEFAULT_EF_SEARCH;
int			vechnsw_search_mode = VEC_SEARCH_RABITQ;
double		vechnsw_rabitq_slack = 0.5;
int			vechnsw_entry_level = VECHNSW_DEFAULT_ENTRY_LEVEL;
int			vechnsw_entry_points = 1;
int			vechnsw_scan_order = VEC_ORDER_STRICT;
int			vechnsw_max_scan_tuples = VECHNSW_DEFAULT_MAX_SCAN_TUPLES;

static const struct config_enum_entry vec_scan_order_options[] = {
	{"relaxed", VEC_ORDER_RELAXED, false},
	{"strict", VEC_ORDER_STRICT, false},
	{NULL, 0, false}
};

static const struct config_enum_entry vec_search_mode_options[] = {
	{"rabitq", VEC_SEARCH_RABITQ, false},
	{"exact", VEC_SEARCH_EXACT, false},
	{NULL, 0, false}
};

static relopt_enum_elt_def vec_storage_options[] = {
	{"f32", VEC_STORAGE_F32},
	{"f16", VEC_STORAGE_F16},
	{(const char *) NULL}
};

static relopt_kind vec_relopt_kind;

void
_PG_init(void)
{
	vec_init_kernels();
	vec_rq_init_kernels();

	vec_relopt_kind = add_reloption_kind();
	add_int_reloption(vec_relopt_kind, "m",
					  "Max number of neighbours per element on upper levels (2*m on level 0)",
					  VECHNSW_DEFAULT_M, VECHNSW_MIN_M, VECHNSW_MAX_M,
					  AccessExclusiveLock);
	add_int_reloption(vec_relopt_kind, "ef_construction",
					  "Size of the candidate list used while building the graph",
					  VECHNSW_DEFAULT_EF_CONSTRUCTION, VECHNSW_MIN_EF_CONSTRUCTION,
					  VECHNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
	add_int_reloption(vec_relopt_kind, "bits",
					  "RaBitQ bits per dimension stored for each vector (0 = no codes)",
					  0, 0, 1, AccessExclusiveLock);
	add_enum_reloption(vec_relopt_kind, "storage",
					   "Precision of the copy of each vector kept for exact distances",
					   vec_storage_options, VEC_STORAGE_F32,
					   "Valid values are \"f32\" and \"f16\".", AccessExclusiveLock);

	DefineCustomIntVariable("vechnsw.ef_search",
							"Size of the candidate list of a vechnsw scan.",
							"Larger values give better recall and slower scans. A scan "
							"that needs more rows than this keeps searching with a larger list.",
							&vechnsw_ef_search,
							VECHNSW_DEFAULT_EF_SEARCH, VECHNSW_MIN_EF_SEARCH,
							VECHNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("vechnsw.search_mode",
							 "How a vechnsw scan walks the graph.",
							 "rabitq: estimate neighbours' distances from their RaBitQ codes and "
							 "compute exact distances only for the elements it expands; exact: "
							 "compute the exact distance of every element it meets. Results are "
							 "always exact distances in exact order.",
							 &vechnsw_search_mode, VEC_SEARCH_RABITQ, vec_search_mode_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("vechnsw.rabitq_slack",
							 "Share of the RaBitQ error bound subtracted from an estimate to rank a candidate.",
							 "1 ranks candidates by the lower end of their error interval (most "
							 "exact-like, most expansions); 0 by the plain estimate (fewest expansions).",
							 &vechnsw_rabitq_slack, 0.5, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vechnsw.entry_level",
							"Upper level where a search's greedy descent ends.",
							"The search on this level (or on the entry point's level, if lower) "
							"keeps vechnsw.entry_points elements, and the level-0 walk starts "
							"from all of them; the levels below are left to that walk (on codes "
							"one page and a few estimates per step instead of a page and an exact "
							"distance per neighbour). 1 descends through every upper level.",
							&vechnsw_entry_level, VECHNSW_DEFAULT_ENTRY_LEVEL,
							1, VECHNSW_MAX_LEVEL + 1,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vechnsw.entry_points",
							"Elements a search starts level 0 from.",
							"The search on the level where the greedy descent ends "
							"(vechnsw.entry_level) keeps this many elements, and the level-0 "
							"walk (exact or on codes) starts from all of them: more starting "
							"points guard against settling in the wrong region of clustered "
							"data. 1 is the greedy descent.",
							&vechnsw_entry_points, 1, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("vechnsw.scan_order",
							 "What a vechnsw scan does with a row that a longer search finds "
							 "nearer than rows it already returned.",
							 "strict (the default): skip it, so distances never decrease, and a "
							 "LIMIT close to the number of rows may get fewer rows; relaxed: return "
							 "it next, so a LIMIT gets all its rows but distances may step back.",
							 &vechnsw_scan_order, VEC_ORDER_STRICT, vec_scan_order_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vechnsw.max_scan_tuples",
							"Most index elements a vechnsw scan returns before it ends.",
							"A scan whose rows a filter rejects keeps searching with longer lists; "
							"it stops, returning no more rows, once its list would grow past this "
							"many elements (or past ef_search, if larger).",
							&vechnsw_max_scan_tuples,
							VECHNSW_DEFAULT_MAX_SCAN_TUPLES, 1, VECHNSW_MAX_SCAN_EF,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("vechnsw");
}

static bytea *
vechnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(VecOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(VecOptions, ef_construction)},
		{"bits", RELOPT_TYPE_INT, offsetof(VecOptions, bits)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(VecOptions, storage)},
	};

	return (bytea *) build_reloptions(reloptions, validate, vec_relopt_kind,
									  sizeof(VecOptions), tab, lengthof(tab));
}

/*
 * Map an opclass support function to the kernel the index runs inline; false
 * if it is not one of the extension's own distance functions (the index never
 * calls a distance function through fmgr).  The validator uses it to report,
 * vec_metric_for_proc to refuse.
 */
bool
vec_metric_lookup(Oid procoid, VecMetric *metric)
{
	FmgrInfo	finfo;

	fmgr_info(procoid, &finfo);
	if (finfo.fn_addr == vecidx_l2_distance)
		*metric = VEC_METRIC_L2;
	else if (finfo.fn_addr == vecidx_cosine_distance)
		*metric = VEC_METRIC_COSINE;
	else if (finfo.fn_addr == vecidx_negative_inner_product)
		*metric = VEC_METRIC_IP;
	else
		return false;
	return true;
}

VecMetric
vec_metric_for_proc(Oid procoid)
{
	VecMetric	metric;

	if (vec_metric_lookup(procoid, &metric))
		return metric;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("vechnsw support function 1 must be l2_distance, cosine_distance or negative_inner_product, not %s",
					format_procedure(procoid))));
	return 0;					/* keep compiler quiet */
}

/*
 * Per-index information, cached in rd_amcache.  A relcache invalidation
 * frees rd_amcache, so callers that keep the information across calls that
 * may process invalidations (scans) keep their own copy; the rotation and
 * centroid it points to live in rd_indexcxt, which lasts while the index is
 * open.
 */
VecIndexInfo *
vec_index_info(Relation index)
{
	VecIndexInfo *info = (VecIndexInfo *) index->rd_amcache;

	if (info == NULL)
	{
		VecOptions *opts = (VecOptions *) index->rd_options;

		info = MemoryContextAllocZero(index->rd_indexcxt, sizeof(VecIndexInfo));
		info->metric = vec_metric_for_proc(index_getprocid(index, 1, 1));
		info->m = opts ? opts->m : VECHNSW_DEFAULT_M;
		info->ef_construction = opts ? opts->ef_construction : VECHNSW_DEFAULT_EF_CONSTRUCTION;
		info->bits = opts ? opts->bits : 0;
		info->storage = opts ? opts->storage : VEC_STORAGE_F32;
		index->rd_amcache = info;

		/*
		 * Once built, the graph's m, bits and storage are the ones its pages were made
		 * with (ALTER INDEX ... SET takes effect at the next REINDEX);
		 * ef_construction only steers future inserts, so the option wins.
		 */
		if (RelationGetNumberOfBlocks(index) > VECHNSW_METAPAGE_BLKNO)
			vec_index_info_load_codes(index, info, NULL, index->rd_indexcxt);
	}
	return info;
}

char *
vechnswbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case VEC_PHASE_LOAD:
			return "building graph in memory";
		case VEC_PHASE_WRITE:
			return "writing graph to pages";
		case VEC_PHASE_ON_DISK:
			return "inserting on disk";
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(vechnsw_handler);
Datum
vechnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 1;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_NO_PARALLEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = vechnswbuild;
	amroutine->ambuildempty = vechnswbuildempty;
	amroutine->aminsert = vechnswinsert;
	amroutine->ambulkdelete = vechnswbulkdelete;
	amroutine->amvacuumcleanup = vechnswvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = vechnswcostestimate;
	amroutine->amoptions = vechnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = vechnswbuildphasename;
	amroutine->amvalidate = vechnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = vechnswbeginscan;
	amroutine->amrescan = vechnswrescan;
	amroutine->amgettuple = vechnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = vechnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
