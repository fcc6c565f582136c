/*-------------------------------------------------------------------------
 *
 * vecidx.h
 *	  Header for vecidx: the vechnsw index access method and the real[]
 *	  distance operators.
 *
 * The on-disk format is described next to the structs below and, in prose,
 * in docs/ON_DISK_FORMAT.md.  The locking protocol is in docs/LOCKING.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VECIDX_H
#define VECIDX_H

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "common/pg_prng.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/relcache.h"

/* ----------------------------------------------------------------
 * Limits and defaults
 * ----------------------------------------------------------------
 */
#define VECHNSW_MAX_SCAN_EF		1000000	/* longest result list a scan grows to */
#define VECHNSW_DEFAULT_MAX_SCAN_TUPLES 20000	/* vechnsw.max_scan_tuples */
#define VECHNSW_MAX_DIM			4000	/* f16 vector must fit in one page */
#define VECHNSW_MAX_DIM_F32		2000	/* f32 vector must fit in one page */
#define VECHNSW_DEFAULT_M		16
#define VECHNSW_MIN_M			2
#define VECHNSW_MAX_M			100
#define VECHNSW_DEFAULT_EF_CONSTRUCTION 64
#define VECHNSW_MIN_EF_CONSTRUCTION 4
#define VECHNSW_MAX_EF_CONSTRUCTION 1000
#define VECHNSW_DEFAULT_EF_SEARCH 40
#define VECHNSW_MIN_EF_SEARCH	1
#define VECHNSW_MAX_EF_SEARCH	1000
#define VECHNSW_MAX_LEVEL		16
#define VECHNSW_DEFAULT_ENTRY_LEVEL	1
#define VECHNSW_HEAPTIDS		8	/* heap TIDs one element can carry */

/*
 * A serial CREATE INDEX draws levels from a PRNG with this fixed seed (also
 * for the rows it inserts on disk once maintenance_work_mem runs out), so
 * that the same rows in the same order give the same index (reproducible
 * benchmarks and tests).  In a parallel build the leader uses this seed and
 * worker i seed + i + 1, and which rows each participant takes and how they
 * interleave varies: not reproducible.  Every index, however built, has this
 * seed as its RaBitQ rotation seed (vec_write_empty_meta).  Inserts after
 * the build draw levels from the backend's random state.
 */
#define VEC_BUILD_SEED			UINT64CONST(0x7665636964780001)

/* ----------------------------------------------------------------
 * Distance metrics.  The metric is fixed per index by its opclass's
 * support function 1.
 * ----------------------------------------------------------------
 */
typedef enum VecMetric
{
	VEC_METRIC_L2 = 1,			/* index distance: squared L2 */
	VEC_METRIC_COSINE = 2,		/* vectors stored L2-normalised; 1 - dot */
	VEC_METRIC_IP = 3			/* -dot */
} VecMetric;

/* ----------------------------------------------------------------
 * On-disk format
 *
 * Block 0 is the meta page.  Every other block is an element page holding
 * element tuples and neighbour tuples (in any mix).  Each page has a
 * VecPageOpaqueData in its special space.
 * ----------------------------------------------------------------
 */
#define VECHNSW_METAPAGE_BLKNO	0
#define VECHNSW_MAGIC			0x56454348	/* "VECH" */
#define VECHNSW_FORMAT_VERSION	1
#define VECHNSW_PAGE_ID			0xFF91	/* for pg_filedump and friends */

/* page flags */
#define VEC_PAGE_META			(1 << 0)
#define VEC_PAGE_ELEMENT		(1 << 1)

typedef struct VecPageOpaqueData
{
	BlockNumber nextblkno;		/* reserved, always InvalidBlockNumber (pages
								 * with free slots are found through the
								 * free space map) */
	uint16		flags;
	uint16		page_id;		/* VECHNSW_PAGE_ID */
} VecPageOpaqueData;

typedef VecPageOpaqueData *VecPageOpaque;

#define VecPageGetOpaque(page) ((VecPageOpaque) PageGetSpecialPointer(page))

/* storage of the re-rank copy of each vector (reloption storage) */
#define VEC_STORAGE_F32			1	/* float4, exact */
#define VEC_STORAGE_F16			2	/* IEEE half precision, half the size */

/* bytes of one stored vector */
#define VEC_VECTOR_BYTES(dim, storage) \
	((Size) (dim) * ((storage) == VEC_STORAGE_F16 ? sizeof(uint16) : sizeof(float4)))

/*
 * Meta page contents, stored at PageGetContents() of block 0.
 */
typedef struct VecMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		dimensions;		/* 0 until the first vector arrives */
	uint16		m;
	uint16		ef_construction;
	uint16		metric;			/* VecMetric */
	uint16		storage;		/* VEC_STORAGE_* */
	/* entry point of the graph; entry_level = -1 when the graph is empty */
	BlockNumber entry_blkno;
	OffsetNumber entry_offno;
	int16		entry_level;
	uint16		entry_version;
	uint16		max_level;		/* cap on element levels for this m and
								 * code_bytes (a neighbour tuple must fit
								 * on a page) */
	BlockNumber insert_page;	/* hint: last page added for new tuples */
	BlockNumber free_page_head; /* reserved, always InvalidBlockNumber (the
								 * free space map finds free slots) */
	/* RaBitQ */
	uint16		code_bits;		/* RaBitQ bits per dimension, 0 = no codes */
	uint16		code_bytes;		/* bytes of one code slot (factors + code);
								 * 0 = no codes (bits = 0, dimensions not
								 * known yet, or codes do not fit) */
	BlockNumber rabitq_blkno;	/* reserved, always InvalidBlockNumber */
	uint64		rabitq_seed;	/* seed of the random rotation
								 * (VEC_BUILD_SEED, set even when codes
								 * are off) */
	float4		centroid[FLEXIBLE_ARRAY_MEMBER];	/* dimensions floats, when
													 * code_bytes > 0 */
} VecMetaPageData;

typedef VecMetaPageData *VecMetaPage;

#define VecPageGetMeta(page) ((VecMetaPage) PageGetContents(page))

/* tuple types (first byte of every tuple) */
#define VEC_TUPLE_ELEMENT		1
#define VEC_TUPLE_NEIGHBOR		2

/* element states */
#define VEC_ELEM_LIVE			0	/* has at least one heap TID */
#define VEC_ELEM_DELETED		1	/* no heap TIDs left; still a graph node */
#define VEC_ELEM_FREE			2	/* no live list names it; the slot is a
									 * tombstone (header only) that an insert
									 * may reuse */

/*
 * Element tuple: one indexed vector (possibly shared by up to
 * VECHNSW_HEAPTIDS heap rows holding the identical vector).
 *
 *	 0	type			uint8	VEC_TUPLE_ELEMENT
 *	 1	state			uint8	VEC_ELEM_*
 *	 2	level			uint8	top level of this element
 *	 3	ntids			uint8	valid entries in heaptids[]
 *	 4	version			uint16	reuse counter: VACUUM bumps it when it frees
 *								the slot; an element reusing the slot keeps it
 *	 6	dim				uint16	dimensions of the stored vector
 *	 8	heaptids		6 * VECHNSW_HEAPTIDS bytes
 *	56	neighbortid		6 bytes: location of the neighbour tuple
 *	62	codebytes		uint16	bytes of the RaBitQ code slot after the
 *								vector (the meta page's code_bytes, or 0)
 *	64	data			dim * float4, or dim * IEEE half with storage = f16
 *						(L2-normalised for cosine), then the code slot at
 *						VEC_ELEMENT_CODE_OFFSET (8-byte aligned)
 *
 * The element does not record its storage: every element of an index has
 * the meta page's.
 */
typedef struct VecElementTupleData
{
	uint8		type;
	uint8		state;
	uint8		level;
	uint8		ntids;
	uint16		version;
	uint16		dim;
	ItemPointerData heaptids[VECHNSW_HEAPTIDS];
	ItemPointerData neighbortid;
	uint16		codebytes;
	float4		data[FLEXIBLE_ARRAY_MEMBER];	/* uint16 halves with f16 */
} VecElementTupleData;

typedef VecElementTupleData *VecElementTuple;

/* the code slot (VecRqFactors + code words) starts 8-byte aligned */
#define VEC_ELEMENT_CODE_OFFSET(dim, storage) \
	MAXALIGN(offsetof(VecElementTupleData, data) + VEC_VECTOR_BYTES(dim, storage))
#define VEC_ELEMENT_TUPLE_SIZE(dim, storage, codebytes) \
	((codebytes) > 0 ? VEC_ELEMENT_CODE_OFFSET(dim, storage) + (codebytes) : \
	 offsetof(VecElementTupleData, data) + VEC_VECTOR_BYTES(dim, storage))
#define VecElementCode(et, storage) \
	((char *) (et) + VEC_ELEMENT_CODE_OFFSET((et)->dim, storage))

/*
 * One edge: the neighbour's element tuple, the version it had when the edge
 * was made (a mismatch means the slot was reused and the edge is stale) and
 * the distance between the two elements (lets an insert decide without
 * reading vectors whether a full list could take a new neighbour).
 */
typedef struct VecNeighborEntry
{
	ItemPointerData tid;		/* invalid = empty slot */
	uint16		version;
	float4		distance;
} VecNeighborEntry;

/*
 * Neighbour tuple: the adjacency lists of one element for all its levels.
 * Level 0 has 2*m slots, every higher level m slots; slots are fixed so the
 * tuple is updated in place and never changes size.
 *
 *	0	type		uint8	VEC_TUPLE_NEIGHBOR
 *	1	level		uint8	the element's level
 *	2	version		uint16	the element's version
 *	4	m			uint16	(0 in a free element's tombstone)
 *	6	codesize	uint16	bytes of one level-0 code slot, 0 = no codes
 *	8	entries		((level + 2) * m) * 12 bytes
 *	then, 8-byte aligned (VEC_NEIGHBOR_CODES_OFFSET), 2*m code slots of
 *	codesize bytes when codesize > 0
 */
typedef struct VecNeighborTupleData
{
	uint8		type;
	uint8		level;
	uint16		version;
	uint16		m;
	uint16		codesize;		/* bytes per level-0 code slot, 0 = none */
	VecNeighborEntry entries[FLEXIBLE_ARRAY_MEMBER];
	/* then, 8-byte aligned, 2*m code slots: codes of the level-0 neighbours */
} VecNeighborTupleData;

typedef VecNeighborTupleData *VecNeighborTuple;

#define VEC_NEIGHBOR_SLOTS(level, m)		(((level) + 2) * (m))
#define VEC_NEIGHBOR_CODES_OFFSET(level, m) \
	MAXALIGN(offsetof(VecNeighborTupleData, entries) + VEC_NEIGHBOR_SLOTS(level, m) * sizeof(VecNeighborEntry))
#define VEC_NEIGHBOR_TUPLE_SIZE(level, m, codesize) \
	((codesize) > 0 ? VEC_NEIGHBOR_CODES_OFFSET(level, m) + 2 * (m) * (codesize) : \
	 offsetof(VecNeighborTupleData, entries) + VEC_NEIGHBOR_SLOTS(level, m) * sizeof(VecNeighborEntry))
/* code slot i (0 <= i < 2m) belongs to level-0 entry i */
#define VecNeighborCode(nt, i) \
	((char *) (nt) + VEC_NEIGHBOR_CODES_OFFSET((nt)->level, (nt)->m) + (Size) (i) * (nt)->codesize)
/* first slot and capacity of a level's list */
#define VEC_LEVEL_START(lc, m)	((lc) == 0 ? 0 : (m) * ((lc) + 1))
#define VEC_LEVEL_CAP(lc, m)		((lc) == 0 ? 2 * (m) : (m))

/*
 * Most dimensions whose RaBitQ centroid (one float4 each) fits the meta page
 * after its fixed fields; above it an index stores no codes.
 */
#define VEC_META_MAX_CENTROID_DIM \
	((int) ((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(VecPageOpaqueData)) - \
			 offsetof(VecMetaPageData, centroid)) / sizeof(float4)))

/* usable bytes of an empty element page for tuples (incl. line pointers) */
#define VEC_PAGE_USABLE \
	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(VecPageOpaqueData)))

/* ----------------------------------------------------------------
 * Options and per-index cached information
 * ----------------------------------------------------------------
 */
typedef struct VecOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			ef_construction;
	int			bits;
	int			storage;		/* VEC_STORAGE_* */
} VecOptions;

struct VecRabitq;
struct VecRqQuery;

typedef struct VecIndexInfo
{
	VecMetric	metric;
	int			m;				/* reloption until built, then the meta
								 * page's */
	int			ef_construction;	/* always the reloption */
	int			bits;			/* RaBitQ bits per dimension: reloption until
								 * built, then the meta page's code_bits */
	int			storage;		/* VEC_STORAGE_*: reloption until built, then
								 * the meta page's */
	int			dim;			/* 0 until known */
	int			code_bytes;		/* code slot size once dim is known */
	struct VecRabitq *rq;		/* rotation + centroid once dim is known,
								 * when code_bytes > 0; else NULL */
} VecIndexInfo;

/* search strategies (GUC vechnsw.search_mode) */
#define VEC_SEARCH_RABITQ		0
#define VEC_SEARCH_EXACT		1

/* GUC vechnsw.scan_order */
#define VEC_ORDER_RELAXED		0
#define VEC_ORDER_STRICT		1

/* ----------------------------------------------------------------
 * Search machinery (shared by build, insert and scan)
 *
 * Elements are named by a uint64 id: in the in-memory build graph, the
 * element's index; on disk, (blkno << 16 | offno) of its element tuple.
 * ----------------------------------------------------------------
 */
typedef struct VecCand
{
	float		dist;
	uint8		level;
	uint8		state;
	uint8		ntids;
	uint8		pad;
	uint64		id;
	ItemPointerData ntid;		/* disk: neighbour tuple */
	uint16		version;		/* disk: element version */
	ItemPointerData heaptids[VECHNSW_HEAPTIDS];
} VecCand;

/* one neighbour as seen by the search */
typedef struct VecNbr
{
	uint64		id;
	uint16		version;
	float		distance;		/* stored edge length */
} VecNbr;

/* open-addressing set of uint64 ids */
typedef struct VecIdSet
{
	uint64	   *keys;
	uint32		mask;
	uint32		count;
} VecIdSet;

struct VecGraph;
struct VecListEdit;

typedef struct VecGraphOps
{
	/* adjacency of c at level lc into out[]; returns count */
	int			(*neighbors) (struct VecGraph *g, const VecCand *c, int lc, VecNbr *out);
	/*
	 * Fill out[i] (distance to q and identity) for each of the count
	 * neighbours; ok[i] is false for a stale one.  Visiting them as a batch
	 * lets the graph overlap the memory latency of fetching them
	 * (prefetches for all of them first, then one distance at a time).
	 */
	void		(*visit) (struct VecGraph *g, const VecNbr *n, int count, const float *q,
						  VecCand *out, bool *ok);
	/* the vector of element id at this version: a pointer into the graph,
	 * or into buf after copying it there; NULL if the element is gone */
	const float *(*vector) (struct VecGraph *g, uint64 id, uint16 version, float *buf);
	/*
	 * Apply edit to base's list on level lc (see VecListEdit) and install
	 * the result; returns true if the list changed.  The one way every path
	 * (build, insert, VACUUM's repair) changes an existing list.
	 */
	bool		(*update_list) (struct VecGraph *g, const VecCand *base, int lc,
								struct VecListEdit *edit);
	/*
	 * Add heaptid to element c, whose vector is identical to vec, if it is
	 * live and has room; true if done (the new row shares the element).
	 */
	bool		(*add_heaptid) (struct VecGraph *g, const VecCand *c, const float *vec,
								ItemPointer heaptid);
} VecGraphOps;

/* a backend's kept search buffers (hnswutils.c) */
typedef struct VecSearchScratch VecSearchScratch;

typedef struct VecGraph
{
	const VecGraphOps *ops;
	VecMetric	metric;
	int			storage;		/* VEC_STORAGE_* of the vectors it reads */
	int			dim;
	int			m;
	VecSearchScratch *scratch;	/* lent by vec_search_scratch_acquire, or NULL */
} VecGraph;

/*
 * A change of one neighbour list, computed by vec_list_merge() from the
 * list's current entries: drop the edges whose target is in 'drop' (and
 * edges to the base itself), add the candidates add[] (distances to the
 * base), and if more than the list's capacity remain, keep the ones the
 * HNSW heuristic selects.  A full list with nothing dropped only changes if
 * a candidate is nearer than its farthest edge.
 */
typedef struct VecListEdit
{
	const VecCand *add;			/* sorted or not; dist = distance to base */
	int			nadd;
	const char *addcode;		/* disk, level 0: code of add[0] (a
								 * back-link), or NULL: read from the
								 * element */
	VecIdSet   *drop;			/* ids whose edges go, or NULL */
	bool		fill;			/* after the heuristic, fill the list up to
								 * its capacity with the nearest of add[]
								 * it passed over (never with existing
								 * edges: they may be stale) */
	bool		force;			/* add[0] gets its edge even if the heuristic
								 * passes it over: it replaces the farthest
								 * edge can_evict allows (any if NULL) */
	bool		(*can_evict) (void *arg, uint64 id);
	void	   *evict_arg;
	float	   *scratch;		/* (2 * m + 1) * dim floats */
	/* results */
	int			ndropped;		/* edges dropped by the installed change */
	int			retries;		/* optimistic installs that had to start over */
	int			nadded;			/* targets of the edges it added (not those
								 * the fill added) */
	uint64		added[2 * VECHNSW_MAX_M];
} VecListEdit;

/* per-backend search work counters (hnswutils.c) */
typedef struct VecSearchCounters
{
	int64		searches;		/* index scans' graph searches */
	int64		page_reads;		/* buffer share-locks taken by searches */
	int64		exact_distances;	/* full-precision distances */
	int64		estimates;		/* RaBitQ estimates */
	int64		expansions;		/* elements whose edges were followed */
} VecSearchCounters;

extern VecSearchCounters vec_counters;


/* ----------------------------------------------------------------
 * Prototypes
 * ----------------------------------------------------------------
 */

/* vecidx.c */
extern int	vechnsw_ef_search;
extern int	vechnsw_search_mode;
extern double vechnsw_rabitq_slack;
extern int	vechnsw_entry_level;
extern int	vechnsw_entry_points;
extern int	vechnsw_scan_order;
extern int	vechnsw_max_scan_tuples;
extern void _PG_init(void);
extern VecIndexInfo *vec_index_info(Relation index);
extern char *vechnswbuildphasename(int64 phasenum);
extern bool vec_metric_lookup(Oid procoid, VecMetric *metric);
extern VecMetric vec_metric_for_proc(Oid procoid);

/* distance.c */
extern float4 *vec_array_values(ArrayType *a, int *dim);
extern void vec_check_same_dims(int a, int b);
extern void vec_init_kernels(void);
extern float vec_l2sq(const float *a, const float *b, int n);
extern float vec_dot(const float *a, const float *b, int n);
extern float vec_distance(VecMetric metric, const float *a, const float *b, int n);
extern double vec_sql_distance(VecMetric metric, float d);
extern float vec_elem_distance(VecMetric metric, int storage, const float *q,
							   const void *x, int n);
extern void vec_store_vector(int storage, const float *src, void *dst, int n);
extern void vec_check_storage(int storage, const float *src, int n);
extern void vec_load_vector(int storage, const void *src, float *dst, int n);
extern uint16 vec_float_to_half(float f);
extern float vec_half_to_float(uint16 h);
extern bool vec_prepare(VecMetric metric, float *v, int n);
extern Datum vecidx_l2_distance(PG_FUNCTION_ARGS);
extern Datum vecidx_cosine_distance(PG_FUNCTION_ARGS);
extern Datum vecidx_negative_inner_product(PG_FUNCTION_ARGS);

/* hnswutils.c */
extern void vec_init_page(Page page, uint16 flags);
extern Buffer vec_new_buffer(Relation index, ForkNumber fork);
extern void vec_read_meta(Relation index, VecMetaPageData *meta);
extern void vec_index_info_load_codes(Relation index, VecIndexInfo *info, VecMetaPageData *meta,
									  MemoryContext cxt);
extern void vec_check_meta(Relation index, const VecMetaPageData *meta);
extern void vec_write_empty_meta(Page page, VecIndexInfo *info);
extern int	vec_random_level(struct pg_prng_state *prng, int m, int max_level);
extern int	vec_max_level(int m, int codesize);
extern int	vec_code_bytes(int bits, int dim, int m);
extern void vec_check_tuple_sizes(Relation index, int dim, int storage, int code_bytes, int m);
extern void vec_meta_set_entry(VecMetaPage meta, const ItemPointerData *tid, int level,
							   uint16 version);
extern void vec_meta_set_dimensions(Page page, int dim, int code_bytes, const float *centroid);
extern void vec_idset_init(VecIdSet *s, uint32 expected);
extern bool vec_idset_add(VecIdSet *s, uint64 id);
extern bool vec_idset_contains(VecIdSet *s, uint64 id);
extern int	vec_search_layer(VecGraph *g, const float *q, VecCand *ep, int nep,
							 int ef, int lc, VecCand *result, VecIdSet *visited);
extern int	vec_select_neighbors(VecGraph *g, VecCand *cands, int ncands,
								 int maxcount, VecCand *out, float *scratch);
extern int	vec_list_merge(VecGraph *g, uint64 baseid, const VecNbr *cur, int ncur, int cap,
						   VecListEdit *edit, VecNbr *out, bool *changed);
extern bool vec_find_neighbors(VecGraph *g, const float *q, VecCand *ep, int entry_level,
							   int level, int ef, bool dedup, ItemPointer heaptid,
							   VecCand **sel, int *nsel, float *scratch);
extern bool vec_link_in_edges(VecGraph *g, const VecCand *base, const VecCand *sel, int nsel,
							  int lc, bool ensure, bool check_named,
							  bool (*can_evict) (void *arg, uint64 id), void *evict_arg,
							  float *scratch);
extern int vec_link_neighbors(VecGraph *g, const VecCand *self, int top, VecCand **sel,
							   const int *nsel, bool ownlists, const char *code,
							   float *scratch);
extern void vec_sort_cands(VecCand *c, int n);
extern int	vec_greedy_descend(VecGraph *g, const float *q, VecCand *ep,
							   int from_level, int to_level);

/*
 * The tuple at off, or NULL if there is none (new page, unused slot) or its
 * line pointer does not lie inside the page's tuple space (corruption: the
 * caller treats it as missing; vechnsw_index_check reports it).  *len gets
 * the tuple's length when len is not NULL.
 */
static inline void *
vec_page_item_len(Page page, OffsetNumber off, Size *len)
{
	ItemId		iid;
	PageHeader	ph = (PageHeader) page;

	if (PageIsNew(page) || off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page) ||
		ph->pd_lower > BLCKSZ)
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < 8 ||
		ItemIdGetOffset(iid) < ph->pd_upper ||
		ItemIdGetOffset(iid) != MAXALIGN(ItemIdGetOffset(iid)) ||
		ItemIdGetOffset(iid) + ItemIdGetLength(iid) > ph->pd_special ||
		ph->pd_special > BLCKSZ)
		return NULL;
	if (len)
		*len = ItemIdGetLength(iid);
	return PageGetItem(page, iid);
}

static inline void *
vec_page_item(Page page, OffsetNumber off)
{
	return vec_page_item_len(page, off, NULL);
}

/*
 * nt, an item of len bytes, is the neighbour tuple of the element with this
 * version: the check every reader makes before it trusts a neighbour list.
 * m is the index's m (0 asks for a free element's tombstone); level is the
 * element's level, or -1 to accept any level the format allows.
 */
static inline bool
vec_neighbor_matches(const VecNeighborTupleData *nt, Size len, uint16 version, int level, int m)
{
	return nt != NULL && nt->type == VEC_TUPLE_NEIGHBOR && nt->version == version &&
		nt->m == m && nt->level <= VECHNSW_MAX_LEVEL && (level < 0 || nt->level == level) &&
		len >= VEC_NEIGHBOR_TUPLE_SIZE(nt->level, nt->m, nt->codesize);
}

/*
 * The metric an index links its elements by.  Inner product is not a
 * metric: graphs linked by it keep the few largest-norm elements in every
 * list, and most elements end up with no in-edge at all (measured: 92 % of
 * 10,000 3-d elements unreachable, recall@20 0.67).  An inner-product index
 * therefore builds, inserts and repairs its lists by L2 distance, which
 * keeps the graph navigable, and ranks by inner product only in scans.
 */
static inline VecMetric
vec_link_metric(VecMetric metric)
{
	return metric == VEC_METRIC_IP ? VEC_METRIC_L2 : metric;
}

/* header-only element tuple left by VACUUM in a free slot */
#define VEC_ELEMENT_TOMBSTONE_SIZE	offsetof(VecElementTupleData, data)
/* header-only neighbour tuple of a free element (m = 0: no slots) */
#define VEC_NEIGHBOR_TOMBSTONE_SIZE	offsetof(VecNeighborTupleData, entries)

/*
 * Binary search of id in an array of n structs of 'stride' bytes sorted by
 * the uint64 id at offset idoff (elements collected in block order are
 * sorted by id).  Returns the index, or -1.
 */
static inline int64
vec_bsearch_id(const void *arr, int64 n, Size stride, Size idoff, uint64 id)
{
	int64		lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		uint64		v = *(const uint64 *) ((const char *) arr + mid * stride + idoff);

		if (v == id)
			return mid;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static inline uint64
vec_tid_to_id(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumber(tid) << 16) |
		ItemPointerGetOffsetNumber(tid);
}

static inline void
vec_id_to_tid(uint64 id, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (id >> 16), (OffsetNumber) (id & 0xFFFF));
}

/*
 * A walk over the index's element pages (hnswutils.c): blocks 1 .. n - 1
 * of the n there were when it began (pages added later hold only newer
 * tuples).  vec_walk_next returns the next page that is not new, checked
 * and locked as asked (VEC_LOCK_CLEANUP: a cleanup lock), honouring
 * VACUUM's cost delay and interrupts; the caller releases *buf.
 */
#define VEC_LOCK_CLEANUP	(-1)

typedef struct VecPageWalk
{
	Relation	index;
	BufferAccessStrategy strategy;
	BlockNumber blkno;			/* the page last returned */
	BlockNumber nblocks;
} VecPageWalk;

extern void vec_walk_init(VecPageWalk *w, Relation index, BufferAccessStrategy strategy);
extern Page vec_walk_next(VecPageWalk *w, int lockmode, Buffer *buf);

/* disk graph (hnswutils.c), used by insert, scan and VACUUM */
/*
 * This backend's hint of which shared buffer held each block of an index
 * last time (hnswutils.c, vec_dg_read): a few slots, each an index's
 * relfilenode and an array by block number.
 */
typedef struct VecBufHints
{
	RelFileNode node;
	Buffer	   *bufs;
	BlockNumber size;
} VecBufHints;

typedef struct VecDiskGraph
{
	VecGraph	g;
	Relation	index;
	VecBufHints *hints;			/* recent buffers of this index's blocks */
	Buffer		buf;			/* last pinned buffer, kept to save pins */
	BlockNumber blkno;
	BlockNumber nblocks;		/* the index's size when last asked */
	int			code_bytes;		/* code slot size, 0 = none */
	char	   *codebuf;		/* update_list: 2 lists of 2m code slots */
	Size		codebufsize;
	MemoryContext cxt;			/* where codebuf is allocated */
} VecDiskGraph;

extern void vec_check_page(Relation index, Page page, BlockNumber blkno);
extern void vec_check_page_header(Relation index, Page page, BlockNumber blkno);
extern void vec_check_blkno(Relation index, BlockNumber blkno);
extern void vec_disk_graph_init(VecDiskGraph *dg, Relation index, VecIndexInfo *info, int dim);
extern void vec_disk_graph_done(VecDiskGraph *dg);
extern int	vec_search_layer0_codes(VecDiskGraph *dg, const float *q, const struct VecRqQuery *qq,
									VecCand *ep, int nep, int ef, float slack,
									VecCand *result, VecIdSet *visited);
extern bool vec_disk_code(VecDiskGraph *dg, uint64 id, uint16 version, char *dst);
extern bool vec_disk_entry(VecDiskGraph *dg, VecMetaPageData *meta, const float *q, VecCand *out);
typedef struct VecRowContext
{
	ItemPointer tid;
	Relation	index;
} VecRowContext;
extern void vec_row_errcontext(void *arg);
extern void vec_report_corrupt(Relation index, BlockNumber blkno, OffsetNumber off,
							   const char *what) pg_attribute_noreturn();
extern char *vec_page_tuple(Relation index, Page page, BlockNumber blkno, OffsetNumber off,
							 Size *len);
extern VecElementTuple vec_element_at(Relation index, Page page, uint64 id, uint16 version,
									  int dim, int storage, Size *len);

/* rabitq.c */
#define VEC_RQ_EPS0 3.0f		/* about three standard deviations */

typedef struct VecRabitq
{
	int			dim;
	int			pdim;			/* dim rounded up to a power of two (>= 64) */
	uint64		seed;
	float	   *signs;			/* rounds * pdim random signs of P */
	float	   *centroid;		/* dim */
} VecRabitq;

typedef struct VecRqFactors
{
	float		norm;			/* |o - c| */
	float		ip;				/* <xbar, u> */
} VecRqFactors;

typedef struct VecRqQuery
{
	int			pdim;
	float		norm;			/* |q - c| (|q| for inner product) */
	float		vl;				/* lowest rotated coordinate */
	float		delta;			/* quantisation step */
	uint64		sumq;			/* sum of the 4-bit levels */
	float		cq;				/* <c, q> (inner product only) */
	uint64	   *planes;			/* 4 bit planes of pdim bits */
} VecRqQuery;

extern int	vec_rq_padded_dim(int dim);
extern void vec_rq_init(VecRabitq *rq, int dim, uint64 seed, const float *centroid);
extern void vec_rq_init_kernels(void);
extern float vec_rq_rotate(const VecRabitq *rq, const float *v, float *out);
extern void vec_rq_encode(const VecRabitq *rq, const float *v, uint64 *code,
						  VecRqFactors *f, float *scratch);
extern void vec_rq_prepare_query(const VecRabitq *rq, const float *q, VecRqQuery *qq,
								 uint64 seed);
extern void vec_rq_prepare_query_ex(const VecRabitq *rq, const float *q, VecRqQuery *qq,
									uint64 seed, bool center);
extern float vec_rq_estimate_dist(VecMetric metric, const VecRqQuery *qq, const uint64 *code,
								  const VecRqFactors *f, float *bound);
extern float vec_rq_estimate_ip(const VecRqQuery *qq, const uint64 *code,
								const VecRqFactors *f, float *bound);
extern float vec_rq_estimate_l2sq(const VecRqQuery *qq, const uint64 *code,
								  const VecRqFactors *f, float *bound);

/* hnswbuild.c */
extern IndexBuildResult *vechnswbuild(Relation heap, Relation index, IndexInfo *indexInfo);
extern void vechnswbuildempty(Relation index);

/* hnswinsert.c */
extern bool vechnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						  Relation heap, IndexUniqueCheck checkUnique,
						  bool indexUnchanged, IndexInfo *indexInfo);
extern float *vec_datum_to_vector(Datum value, VecMetric metric, int *dim);
extern void vec_insert_on_disk(Relation index, VecIndexInfo *info, float *vec, int dim,
							   ItemPointer heaptid, struct pg_prng_state *prng);

/* hnswscan.c */
extern IndexScanDesc vechnswbeginscan(Relation index, int nkeys, int norderbys);
extern void vechnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool vechnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void vechnswendscan(IndexScanDesc scan);

/* hnswvacuum.c */
extern IndexBulkDeleteResult *vechnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
												IndexBulkDeleteCallback callback, void *callback_state);
extern IndexBulkDeleteResult *vechnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
extern void vec_record_free_space(Relation index, BlockNumber blkno, Size avail);

/* hnswcost.c */
extern void vechnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
								Cost *indexStartupCost, Cost *indexTotalCost,
								Selectivity *indexSelectivity, double *indexCorrelation,
								double *indexPages);

/* hnswvalidate.c */
extern bool vechnswvalidate(Oid opclassoid);

/* build phases reported in pg_stat_progress_create_index */
#define VEC_PHASE_LOAD			2
#define VEC_PHASE_WRITE			3
#define VEC_PHASE_ON_DISK		4

#endif							/* VECIDX_H */
