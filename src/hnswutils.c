/*-------------------------------------------------------------------------
 *
 * hnswutils.c
 *	  Page helpers, the meta page, the id set, and the HNSW search routines
 *	  shared by build (in-memory graph), insert and scan (on-disk graph).
 *
 * The search routines see the graph only through VecGraphOps, so the same
 * code walks the in-memory graph of a build and the pages of an index.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "commands/vacuum.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

/*
 * Per-backend work counters of the graph code: every graph walk counts
 * (scans, and the searches of inserts, builds and VACUUM).  Scans add what
 * their own searches did to the counters vechnsw_search_counters() shows
 * (hnswscan.c), so those count index scans' work only.
 */
VecSearchCounters vec_counters;

/* ---------------------------------------------------------------- pages */

void
vec_init_page(Page page, uint16 flags)
{
	VecPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(VecPageOpaqueData));
	opaque = VecPageGetOpaque(page);
	opaque->nextblkno = InvalidBlockNumber;
	opaque->flags = flags;
	opaque->page_id = VECHNSW_PAGE_ID;
}

/*
 * Extend the index by one page.  Returns the new buffer pinned and
 * exclusively locked; the caller initialises it (under GenericXLog with
 * GENERIC_XLOG_FULL_IMAGE when the change must be WAL-logged).
 */
Buffer
vec_new_buffer(Relation index, ForkNumber fork)
{
	Buffer		buf;
	bool		needlock = !RELATION_IS_LOCAL(index);

	if (needlock)
		LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (needlock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

void
vec_write_empty_meta(Page page, VecIndexInfo *info)
{
	VecMetaPage meta;

	vec_init_page(page, VEC_PAGE_META);
	meta = VecPageGetMeta(page);
	MemSet(meta, 0, sizeof(VecMetaPageData));
	meta->magic = VECHNSW_MAGIC;
	meta->version = VECHNSW_FORMAT_VERSION;
	meta->dimensions = 0;
	meta->m = info->m;
	meta->ef_construction = info->ef_construction;
	meta->metric = info->metric;
	meta->storage = info->storage;
	meta->entry_blkno = InvalidBlockNumber;
	meta->entry_offno = InvalidOffsetNumber;
	meta->entry_level = -1;
	meta->entry_version = 0;
	meta->max_level = vec_max_level(info->m, 0);
	meta->insert_page = InvalidBlockNumber;
	meta->free_page_head = InvalidBlockNumber;
	meta->code_bits = info->bits;
	meta->code_bytes = 0;
	meta->rabitq_blkno = InvalidBlockNumber;
	meta->rabitq_seed = VEC_BUILD_SEED;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(VecMetaPageData)) - (char *) page;
}

/*
 * Fill the parts of the cached information that the meta page fixes: m,
 * bits, storage and, once the first vector has set the dimensions, the code size
 * and the RaBitQ rotation and centroid.  Cheap when already known.
 */
void
vec_index_info_load_codes(Relation index, VecIndexInfo *info, VecMetaPageData *known,
						  MemoryContext cxt)
{
	Buffer		buf;
	VecMetaPage meta;
	MemoryContext oldcxt;

	if (info->dim != 0 || (known != NULL && known->dimensions == 0))
		return;

	buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = VecPageGetMeta(BufferGetPage(buf));
	if (meta->magic != VECHNSW_MAGIC)
	{
		UnlockReleaseBuffer(buf);
		return;					/* reported by vec_read_meta */
	}
	vec_check_meta(index, meta);	/* (an ERROR releases the buffer lock) */
	info->m = meta->m;
	info->bits = meta->code_bits;
	info->storage = meta->storage;
	if (meta->dimensions != 0)
	{
		info->code_bytes = meta->code_bytes;
		if (meta->code_bytes > 0)
		{
			oldcxt = MemoryContextSwitchTo(cxt);
			info->rq = palloc(sizeof(VecRabitq));
			vec_rq_init(info->rq, meta->dimensions, meta->rabitq_seed, meta->centroid);
			MemoryContextSwitchTo(oldcxt);
		}
		info->dim = meta->dimensions;
	}
	UnlockReleaseBuffer(buf);
}

void
vec_read_meta(Relation index, VecMetaPageData *meta)
{
	Buffer		buf;
	Page		page;

	buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memcpy(meta, VecPageGetMeta(page), sizeof(VecMetaPageData));
	UnlockReleaseBuffer(buf);

	if (meta->magic != VECHNSW_MAGIC || meta->version != VECHNSW_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid vechnsw index (magic %08x, version %u)",
						RelationGetRelationName(index), meta->magic, meta->version)));
	vec_check_meta(index, meta);
}

/*
 * The meta page's fields that size arrays and name blocks must be within
 * the bounds the code was written for (m, levels, dimensions, code size,
 * metric, storage); anything else is corruption, reported before it is used.
 */
void
vec_check_meta(Relation index, const VecMetaPageData *meta)
{
	const char *what = NULL;

	if (meta->m < VECHNSW_MIN_M || meta->m > VECHNSW_MAX_M)
		what = "m";
	else if (meta->metric < VEC_METRIC_L2 || meta->metric > VEC_METRIC_IP)
		what = "metric";
	else if (meta->storage != VEC_STORAGE_F32 && meta->storage != VEC_STORAGE_F16)
		what = "storage";
	else if (meta->dimensions > VECHNSW_MAX_DIM)
		what = "dimensions";
	else if (meta->max_level > VECHNSW_MAX_LEVEL)
		what = "max_level";
	else if (meta->entry_level < -1 || meta->entry_level > meta->max_level)
		what = "entry_level";
	else if (meta->entry_level >= 0 &&
			 (meta->entry_blkno == VECHNSW_METAPAGE_BLKNO || !BlockNumberIsValid(meta->entry_blkno)))
		what = "entry block";
	else if (meta->entry_level >= 0 && meta->dimensions == 0)
		what = "entry point without dimensions";
	else if (meta->code_bytes != 0 &&
			 (meta->dimensions == 0 ||
			  meta->code_bytes != vec_code_bytes(meta->code_bits, meta->dimensions, meta->m)))
		what = "code size";
	if (what)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has a corrupted meta page (%s)",
						RelationGetRelationName(index), what),
				 errhint("Please REINDEX it.")));
}

/* ---------------------------------------------------------------- levels */

/* highest level whose neighbour tuple still fits on a page */
int
vec_max_level(int m, int codesize)
{
	int			lvl = 0;

	while (lvl < VECHNSW_MAX_LEVEL &&
		   VEC_NEIGHBOR_TUPLE_SIZE(lvl + 1, m, codesize) + sizeof(ItemIdData) <= VEC_PAGE_USABLE)
		lvl++;
	return lvl;
}

/*
 * An element's tuples must each fit on an empty page: the element tuple
 * (header, vector in its storage, RaBitQ code) and the level-0 neighbour
 * tuple.  Checked when the first vector fixes the dimensions (build and
 * insert), before anything is written: 54000 with the sizes, rather than a
 * failed page insert later.
 */
void
vec_check_tuple_sizes(Relation index, int dim, int storage, int code_bytes, int m)
{
	Size		esz = MAXALIGN(VEC_ELEMENT_TUPLE_SIZE(dim, storage, code_bytes)) + sizeof(ItemIdData);
	Size		nsz = MAXALIGN(VEC_NEIGHBOR_TUPLE_SIZE(0, m, code_bytes)) + sizeof(ItemIdData);

	if (storage == VEC_STORAGE_F32 && dim > VECHNSW_MAX_DIM_F32)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector has %d dimensions, vechnsw indexes with storage = f32 take at most %d",
						dim, VECHNSW_MAX_DIM_F32),
				 errhint("Indexes with storage = f16 take up to %d dimensions.", VECHNSW_MAX_DIM)));

	if (esz > VEC_PAGE_USABLE || nsz > VEC_PAGE_USABLE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("index row size %zu exceeds vechnsw maximum %zu for index \"%s\"",
						Max(esz, nsz), (Size) VEC_PAGE_USABLE, RelationGetRelationName(index)),
				 errdetail("%d dimensions stored as %s%s need %zu bytes per element tuple and %zu per level-0 neighbour tuple.",
						   dim, storage == VEC_STORAGE_F16 ? "f16" : "f32",
						   code_bytes > 0 ? " with RaBitQ codes" : "", esz, nsz),
				 errhint("Use storage = f16, bits = 0 or fewer dimensions.")));
}

/*
 * Size of one code slot (factors + one bit per padded dimension), or 0
 * when codes are off, a level-0 list with codes would take more than
 * three quarters of a page, or the centroid would not fit the meta page
 * (VEC_META_MAX_CENTROID_DIM, 2,017 dimensions with 8 kB pages).
 */
int
vec_code_bytes(int bits, int dim, int m)
{
	int			slot;

	if (bits == 0 || dim == 0 || dim > VEC_META_MAX_CENTROID_DIM)
		return 0;
	slot = sizeof(VecRqFactors) + vec_rq_padded_dim(dim) / 8;
	if (VEC_NEIGHBOR_TUPLE_SIZE(0, m, slot) > VEC_PAGE_USABLE * 3 / 4)
		return 0;
	return slot;
}

/*
 * Name the entry point in a meta page image (registered for WAL by the
 * caller, who holds the entry lock in exclusive mode): the element at tid,
 * of that level and version, or, with tid NULL, none (the graph is empty).
 */
void
vec_meta_set_entry(VecMetaPage meta, const ItemPointerData *tid, int level, uint16 version)
{
	meta->entry_blkno = tid ? ItemPointerGetBlockNumber(tid) : InvalidBlockNumber;
	meta->entry_offno = tid ? ItemPointerGetOffsetNumber(tid) : InvalidOffsetNumber;
	meta->entry_level = tid ? level : -1;
	meta->entry_version = tid ? version : 0;
}

/*
 * Record the dimensions, and the codes' size and centroid, in the meta
 * page image (first vector of an index).
 */
void
vec_meta_set_dimensions(Page page, int dim, int code_bytes, const float *centroid)
{
	VecMetaPage meta = VecPageGetMeta(page);

	meta->dimensions = dim;
	meta->code_bytes = code_bytes;
	meta->max_level = vec_max_level(meta->m, code_bytes);
	if (code_bytes > 0)
	{
		if (centroid)
			memcpy(meta->centroid, centroid, sizeof(float) * dim);
		else
			memset(meta->centroid, 0, sizeof(float) * dim);
		((PageHeader) page)->pd_lower =
			((char *) meta->centroid + sizeof(float) * dim) - (char *) page;
	}
}

int
vec_random_level(pg_prng_state *prng, int m, int max_level)
{
	double		ml = 1.0 / log((double) m);
	double		u = 1.0 - pg_prng_double(prng);	/* (0, 1] */
	int			level = (int) floor(-log(u) * ml);

	return Min(level, max_level);
}

/* ---------------------------------------------------------------- id set */

static inline uint32
vec_idhash(uint64 key)
{
	key *= UINT64CONST(0x9E3779B97F4A7C15);
	return (uint32) (key >> 32);
}

static uint32
vec_idset_size(uint32 expected)
{
	uint32		size = 64;

	/* a hint: the set grows as needed, so start at most at 2^21 slots */
	while (size < (uint64) expected * 2 && size < (1U << 21))
		size <<= 1;
	return size;
}

void
vec_idset_init(VecIdSet *s, uint32 expected)
{
	uint32		size = vec_idset_size(expected);

	s->keys = palloc_extended(sizeof(uint64) * size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	s->mask = size - 1;
	s->count = 0;
}

/*
 * Empty a set kept across searches (keys NULL: not allocated yet) for one
 * expecting about 'expected' ids: cleared in place when its table is large
 * enough and not more than 32 times larger than needed (a table grown by
 * one unusually long search is not cleared again and again), else
 * allocated afresh in cxt.
 */
static void
vec_idset_reuse(VecIdSet *s, MemoryContext cxt, uint32 expected)
{
	uint32		size = vec_idset_size(expected);

	if (s->keys != NULL && s->mask + 1 >= size && s->mask + 1 <= 32 * (uint64) size)
	{
		if (s->count > 0)
			memset(s->keys, 0, sizeof(uint64) * (s->mask + 1));
		s->count = 0;
		return;
	}
	if (s->keys != NULL)
		pfree(s->keys);
	s->keys = MemoryContextAllocExtended(cxt, sizeof(uint64) * size,
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	s->mask = size - 1;
	s->count = 0;
}

static void
vec_idset_grow(VecIdSet *s)
{
	uint64	   *old = s->keys;
	uint32		oldsize = s->mask + 1;

	/* in the set's own context: it may outlive the current one */
	s->keys = MemoryContextAllocExtended(GetMemoryChunkContext(old), sizeof(uint64) * oldsize * 2,
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	s->mask = oldsize * 2 - 1;
	for (uint32 i = 0; i < oldsize; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (old[i] != 0)
		{
			uint32		h = vec_idhash(old[i]) & s->mask;

			while (s->keys[h] != 0)
				h = (h + 1) & s->mask;
			s->keys[h] = old[i];
		}
	}
	pfree(old);
}

/* add id; returns true if it was not there yet */
bool
vec_idset_add(VecIdSet *s, uint64 id)
{
	uint64		key = id + 1;	/* 0 marks an empty slot */
	uint32		h;

	if ((s->count + 1) * 2 > s->mask + 1)
		vec_idset_grow(s);
	h = vec_idhash(key) & s->mask;
	/* at most half full, so an empty slot ends every probe */
	while (s->keys[h] != 0)
	{
		if (s->keys[h] == key)
			return false;
		h = (h + 1) & s->mask;
	}
	s->keys[h] = key;
	s->count++;
	return true;
}

bool
vec_idset_contains(VecIdSet *s, uint64 id)
{
	uint64		key = id + 1;
	uint32		h = vec_idhash(key) & s->mask;

	while (s->keys[h] != 0)
	{
		if (s->keys[h] == key)
			return true;
		h = (h + 1) & s->mask;
	}
	return false;
}

/* ---------------------------------------------------------------- heaps */

typedef struct VecHeapItem
{
	float		dist;
	int32		idx;			/* into the candidate pool */
} VecHeapItem;

typedef struct VecHeap
{
	VecHeapItem *items;
	int			n;
	int			cap;
	bool		max;			/* max-heap (results) or min-heap (candidates) */
} VecHeap;

static inline bool
vec_heap_before(VecHeap *h, float a, float b)
{
	return h->max ? a > b : a < b;
}

static void
vec_heap_init(VecHeap *h, int cap, bool max)
{
	h->items = palloc_extended(sizeof(VecHeapItem) * cap, MCXT_ALLOC_HUGE);
	h->n = 0;
	h->cap = cap;
	h->max = max;
}

static void
vec_heap_push(VecHeap *h, float dist, int32 idx)
{
	int			i;

	if (h->n == h->cap)
	{
		h->cap *= 2;
		h->items = repalloc_huge(h->items, sizeof(VecHeapItem) * h->cap);
	}
	i = h->n++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!vec_heap_before(h, dist, h->items[parent].dist))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i].dist = dist;
	h->items[i].idx = idx;
}

static VecHeapItem
vec_heap_pop(VecHeap *h)
{
	VecHeapItem top = h->items[0];
	VecHeapItem last = h->items[--h->n];
	int			i = 0;

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= h->n)
			break;
		if (child + 1 < h->n &&
			vec_heap_before(h, h->items[child + 1].dist, h->items[child].dist))
			child++;
		if (!vec_heap_before(h, h->items[child].dist, last.dist))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->n > 0)
		h->items[i] = last;
	return top;
}

/*
 * Empty a max-heap of results into result[] in ascending distance order
 * (the heap's items index into pool).  Returns the number of results.
 */
static int
vec_heap_drain(VecHeap *res, const VecCand *pool, VecCand *result)
{
	int			n = res->n;

	for (int i = n - 1; i >= 0; i--)
	{
		VecHeapItem it = vec_heap_pop(res);

		result[i] = pool[it.idx];
	}
	return n;
}

/* ---------------------------------------------------------------- search */

static int
vec_cand_cmp(const void *a, const void *b)
{
	float		da = ((const VecCand *) a)->dist;
	float		db = ((const VecCand *) b)->dist;

	if (da < db)
		return -1;
	if (da > db)
		return 1;
	/* tie-break on id so the order is deterministic */
	if (((const VecCand *) a)->id < ((const VecCand *) b)->id)
		return -1;
	if (((const VecCand *) a)->id > ((const VecCand *) b)->id)
		return 1;
	return 0;
}

void
vec_sort_cands(VecCand *c, int n)
{
	qsort(c, n, sizeof(VecCand), vec_cand_cmp);
}

/* ---------------------------------------------------------------- search buffers */

/*
 * The large buffers of the neighbour searches of build and insert
 * (vec_find_neighbors: greedy descent and every layer's search), kept by
 * the backend across calls so that once they have grown to a search's size
 * the next one does not allocate them again.  Allocated and freed per
 * search, the visited set and the candidate pool (hundreds of kB per insert
 * on a graph of millions at ef_construction 64) made the C library hand
 * memory back to the kernel and fetch it again on every insert: page faults
 * and TLB shootdowns took about a quarter of a 10M build's time and 14 % of
 * an insert's.  They live in a context of their own under
 * TopMemoryContext.  Scans and VACUUM allocate per search (g->scratch is
 * NULL for them).
 *
 * One call at a time: vec_find_neighbors does not nest (nothing it calls
 * searches again).  busy marks a call in progress; an error that ends a
 * call leaves it set, with pointers that may name freed memory (a pool or
 * heap moved by repalloc), so the next acquire resets the context and
 * starts with empty buffers.  A buffer larger than VEC_SCRATCH_KEEP is
 * freed when the call ends (one search through a mostly deleted graph
 * must not pin its pool for the life of the backend).
 */
struct VecSearchScratch
{
	MemoryContext cxt;			/* NULL until first used */
	bool		busy;
	VecIdSet	visited;		/* keys == NULL: not allocated */
	VecCand    *pool;			/* candidate pool, or NULL */
	int			poolcap;
	VecHeapItem *heapitems;		/* the candidate heap's array */
	int			heapcap;
};

#define VEC_SCRATCH_KEEP	((Size) 8 * 1024 * 1024)

static VecSearchScratch vec_scratch;

/* lend this backend's search buffers to g for one vec_find_neighbors call */
static VecSearchScratch *
vec_search_scratch_acquire(VecGraph *g)
{
	Assert(g->scratch == NULL);
	if (vec_scratch.cxt == NULL)
		vec_scratch.cxt = AllocSetContextCreate(TopMemoryContext, "vechnsw search buffers",
												ALLOCSET_DEFAULT_SIZES);
	else if (vec_scratch.busy)
	{
		/* an error ended the last call: its pointers may be stale */
		MemoryContextReset(vec_scratch.cxt);
		memset(&vec_scratch.visited, 0, sizeof(VecIdSet));
		vec_scratch.pool = NULL;
		vec_scratch.poolcap = 0;
		vec_scratch.heapitems = NULL;
		vec_scratch.heapcap = 0;
	}
	vec_scratch.busy = true;
	g->scratch = &vec_scratch;
	return &vec_scratch;
}

static void
vec_search_scratch_release(VecGraph *g)
{
	VecSearchScratch *scr = g->scratch;

	Assert(scr == &vec_scratch && scr->busy);
	if (scr->visited.keys != NULL &&
		sizeof(uint64) * ((Size) scr->visited.mask + 1) > VEC_SCRATCH_KEEP)
	{
		pfree(scr->visited.keys);
		memset(&scr->visited, 0, sizeof(VecIdSet));
	}
	if (scr->pool != NULL &&
		(sizeof(VecCand) * (Size) scr->poolcap > VEC_SCRATCH_KEEP ||
		 sizeof(VecHeapItem) * (Size) scr->heapcap > VEC_SCRATCH_KEEP))
	{
		pfree(scr->pool);
		pfree(scr->heapitems);
		scr->pool = NULL;
		scr->heapitems = NULL;
		scr->poolcap = scr->heapcap = 0;
	}
	scr->busy = false;
	g->scratch = NULL;
}

/*
 * SEARCH-LAYER of the HNSW paper: best-first search from the entry points
 * ep[0..nep) on level lc with a result list of size ef.  The ef nearest
 * live elements found are written to result[] (capacity >= ef) in
 * ascending distance order; returns their number.  Deleted elements (no
 * heap TIDs left, not yet repaired away by VACUUM) are expanded like any
 * other but never enter the result list, so they neither use up ef nor
 * become an insert's neighbours.  'visited' must be initialised by
 * the caller; it is extended with every element whose distance was
 * computed.  With g->scratch set, the candidate pool and heap come from
 * it (grown if too small) and go back to it.
 */
int
vec_search_layer(VecGraph *g, const float *q, VecCand *ep, int nep,
				 int ef, int lc, VecCand *result, VecIdSet *visited)
{
	VecSearchScratch *scr = g->scratch;
	VecCand    *pool;
	int			npool = 0;
	int			poolcap = Max(ef * 4, 64);
	VecHeap		cands;
	VecHeap		res;
	VecNbr	   *nbrs = palloc(sizeof(VecNbr) * 2 * g->m);
	bool	   *ok = palloc(sizeof(bool) * 2 * g->m);
	int			n,
				k,
				base;

	if (scr != NULL && scr->pool != NULL && scr->poolcap >= poolcap)
	{
		/* the arrays an earlier search left (repalloc keeps their context) */
		pool = scr->pool;
		poolcap = scr->poolcap;
		cands.items = scr->heapitems;
		cands.cap = scr->heapcap;
		cands.n = 0;
		cands.max = false;
	}
	else
	{
		MemoryContext cxt = scr ? scr->cxt : CurrentMemoryContext;

		if (scr != NULL && scr->pool != NULL)
		{
			pfree(scr->pool);
			pfree(scr->heapitems);
		}
		pool = MemoryContextAllocExtended(cxt, sizeof(VecCand) * poolcap, MCXT_ALLOC_HUGE);
		cands.items = MemoryContextAllocExtended(cxt, sizeof(VecHeapItem) * poolcap,
												 MCXT_ALLOC_HUGE);
		cands.cap = poolcap;
		cands.n = 0;
		cands.max = false;
	}
	vec_heap_init(&res, ef + 1, true);

	for (int i = 0; i < nep; i++)
	{
		if (!vec_idset_add(visited, ep[i].id))
			continue;
		pool[npool] = ep[i];
		vec_heap_push(&cands, ep[i].dist, npool);
		if (ep[i].state == VEC_ELEM_LIVE)
		{
			vec_heap_push(&res, ep[i].dist, npool);
			if (res.n > ef)
				(void) vec_heap_pop(&res);
		}
		npool++;
		if (npool == poolcap)
		{
			poolcap *= 2;
			pool = repalloc_huge(pool, sizeof(VecCand) * poolcap);
		}
	}

	while (cands.n > 0)
	{
		VecHeapItem c = vec_heap_pop(&cands);
		int			nn;

		if (res.n >= ef && c.dist > res.items[0].dist)
			break;

		CHECK_FOR_INTERRUPTS();
		vec_counters.expansions++;
		nn = g->ops->neighbors(g, &pool[c.idx], lc, nbrs);

		/* the neighbours not seen yet, visited as one batch */
		k = 0;
		for (int i = 0; i < nn; i++)
			if (vec_idset_add(visited, nbrs[i].id))
				nbrs[k++] = nbrs[i];
		if (k == 0)
			continue;
		if (npool + k > poolcap)
		{
			poolcap = Max(poolcap * 2, npool + k);
			pool = repalloc_huge(pool, sizeof(VecCand) * poolcap);
		}
		g->ops->visit(g, nbrs, k, q, &pool[npool], ok);

		/* keep the ones that can enter the result list, packed at npool */
		base = npool;
		for (int i = 0; i < k; i++)
		{
			VecCand    *e = &pool[base + i];

			if (!ok[i])
				continue;
			if (res.n < ef || e->dist < res.items[0].dist)
			{
				if (base + i != npool)
					pool[npool] = *e;
				vec_heap_push(&cands, pool[npool].dist, npool);
				/* deleted elements are waypoints: they use up no result slot */
				if (pool[npool].state == VEC_ELEM_LIVE)
				{
					vec_heap_push(&res, pool[npool].dist, npool);
					if (res.n > ef)
						(void) vec_heap_pop(&res);
				}
				npool++;
			}
		}
		if (npool == poolcap)
		{
			poolcap *= 2;
			pool = repalloc_huge(pool, sizeof(VecCand) * poolcap);
		}
	}

	n = vec_heap_drain(&res, pool, result);

	if (scr != NULL)
	{
		scr->pool = pool;
		scr->poolcap = poolcap;
		scr->heapitems = cands.items;
		scr->heapcap = cands.cap;
	}
	else
	{
		pfree(pool);
		pfree(cands.items);
	}
	pfree(nbrs);
	pfree(ok);
	pfree(res.items);
	return n;
}

/*
 * Greedy descent (ef = 1) from *ep on from_level down to to_level + 1;
 * *ep is replaced by the closest element found.  Returns the level reached.
 */
int
vec_greedy_descend(VecGraph *g, const float *q, VecCand *ep, int from_level, int to_level)
{
	VecCand		best;

	for (int lc = from_level; lc > to_level; lc--)
	{
		VecIdSet	visited;

		vec_idset_init(&visited, 64);
		if (vec_search_layer(g, q, ep, 1, 1, lc, &best, &visited) > 0)
			*ep = best;
		pfree(visited.keys);
	}
	return to_level;
}

/*
 * SELECT-NEIGHBORS-HEURISTIC of the HNSW paper: from candidates sorted by
 * ascending distance to the base element, keep a candidate only if it is
 * closer to the base than to every candidate already kept.  This keeps
 * edges pointing in different directions and duplicates from crowding a
 * list.  scratch must hold (maxcount + 1) * dim floats.  Returns the number
 * of candidates written to out[].
 */
int
vec_select_neighbors(VecGraph *g, VecCand *cands, int ncands, int maxcount,
					 VecCand *out, float *scratch)
{
	const float **kept = palloc(sizeof(float *) * (maxcount + 1));
	int			nout = 0;

	for (int i = 0; i < ncands && nout < maxcount; i++)
	{
		float	   *buf = scratch + (size_t) nout * g->dim;
		const float *v;
		bool		good = true;

		v = g->ops->vector(g, cands[i].id, cands[i].version, buf);
		if (v == NULL)
			continue;
		for (int j = 0; j < nout; j++)
		{
			if (vec_distance(g->metric, v, kept[j], g->dim) < cands[i].dist)
			{
				good = false;
				break;
			}
		}
		if (good)
		{
			kept[nout] = v;
			out[nout++] = cands[i];
		}
	}
	pfree(kept);
	return nout;
}

/*
 * The new contents of one neighbour list (capacity cap) of element baseid,
 * from its current entries cur[0..ncur) and the edit (see VecListEdit).
 * Writes the entries to out[] and returns their number; *changed tells
 * whether they differ from cur[].  Every path that changes a list goes
 * through here: an insert's back-links (one candidate), an element's own
 * lists (all of its selected neighbours), the in-memory build, and
 * VACUUM's repair (drop the deleted targets, add their neighbours).
 */
int
vec_list_merge(VecGraph *g, uint64 baseid, const VecNbr *cur, int ncur, int cap,
			   VecListEdit *edit, VecNbr *out, bool *changed)
{
	VecCand		stackc[4 * VECHNSW_MAX_M + 1];
	VecCand		stacks[2 * VECHNSW_MAX_M];
	VecCand    *cands = stackc;
	VecCand    *sel = stacks;
	int			nc = 0,
				nkept,
				ndropped = 0,
				nsel,
				nheur = -1,
				nout = 0;
	float		maxdist = -get_float4_infinity();
	bool		anyadded = false;

	*changed = false;
	if (ncur + edit->nadd > lengthof(stackc))
		cands = palloc(sizeof(VecCand) * (ncur + edit->nadd));

	for (int i = 0; i < ncur; i++)
	{
		if (cur[i].id == baseid || (edit->drop && vec_idset_contains(edit->drop, cur[i].id)))
		{
			ndropped++;
			continue;
		}
		cands[nc].id = cur[i].id;
		cands[nc].version = cur[i].version;
		cands[nc].dist = cur[i].distance;
		cands[nc].pad = 0;		/* an existing edge: may be stale */
		maxdist = Max(maxdist, cur[i].distance);
		nc++;
	}
	nkept = nc;
	for (int j = 0; j < edit->nadd; j++)
	{
		const VecCand *a = &edit->add[j];
		int			k;

		if (a->id == baseid)
			continue;
		for (k = 0; k < nc; k++)
			if (cands[k].id == a->id)
				break;
		if (k < nc)
		{
			/* an edge to an older version of the slot is stale: replace it */
			if (k < nkept && cands[k].version != a->version)
			{
				cands[k] = *a;
				cands[k].pad = 1;
				ndropped++;
			}
			continue;			/* else already an edge (or added twice) */
		}
		cands[nc] = *a;
		cands[nc].pad = 1;		/* a candidate the caller just visited */
		nc++;
	}

	if (nc == nkept && ndropped == 0)
		goto unchanged;			/* nothing new */

	if (nc <= cap)
	{
		/* room for all: keep every remaining edge, append the new ones */
		for (int i = 0; i < nc; i++)
		{
			out[i].id = cands[i].id;
			out[i].version = cands[i].version;
			out[i].distance = cands[i].dist;
		}
		nout = nc;
		*changed = true;
		goto done;
	}

	/* a full list only takes a candidate nearer than its farthest edge */
	if (ndropped == 0 && !edit->force)
	{
		bool		nearer = false;

		for (int i = nkept; i < nc; i++)
			if (cands[i].dist < maxdist)
				nearer = true;
		if (!nearer)
			goto unchanged;
	}

	vec_sort_cands(cands, nc);
	if (cap > lengthof(stacks))
		sel = palloc(sizeof(VecCand) * cap);
	nsel = vec_select_neighbors(g, cands, nc, cap, sel, edit->scratch);
	nheur = nsel;
	if (edit->fill && nsel < cap)
	{
		/*
		 * Candidates are sorted: take the nearest ones not selected, of
		 * those the caller visited (an existing edge the heuristic passed
		 * over may be stale: its vector could not be read).
		 */
		for (int i = 0; i < nc && nsel < cap; i++)
		{
			int			k;

			if (cands[i].pad != 1)
				continue;
			for (k = 0; k < nsel; k++)
				if (sel[k].id == cands[i].id)
					break;
			if (k == nsel)
				sel[nsel++] = cands[i];
		}
	}
	if (edit->force && edit->nadd > 0 && edit->add[0].id != baseid)
	{
		/*
		 * add[0] must get its edge (VACUUM links an element nothing else
		 * leads to): if the heuristic passed it over, it takes the place
		 * of the farthest selected edge.
		 */
		int			k;

		for (k = 0; k < nsel; k++)
			if (sel[k].id == edit->add[0].id)
				break;
		if (k == nsel && nsel == cap)
		{
			/* the farthest edge that may go */
			for (k = nsel - 1; k >= 0; k--)
				if (edit->can_evict == NULL || edit->can_evict(edit->evict_arg, sel[k].id))
					break;
			if (k >= 0)
			{
				memmove(&sel[k], &sel[k + 1], sizeof(VecCand) * (nsel - k - 1));
				nsel--;
			}
			k = (k >= 0) ? nsel : -1;
		}
		if (k == nsel)
		{
			sel[nsel++] = edit->add[0];
			if (nheur >= 0)
				nheur = Max(nheur, nsel);
		}
	}
	for (int i = 0; i < nsel; i++)
	{
		bool		old = false;

		for (int k = 0; k < ncur; k++)
			if (cur[k].id == sel[i].id)
				old = true;
		anyadded |= !old;
		out[i].id = sel[i].id;
		out[i].version = sel[i].version;
		out[i].distance = sel[i].dist;
	}
	nout = nsel;

	/*
	 * Nothing dropped and no candidate made it: leave the list as it is
	 * rather than lose the edges the heuristic would prune.
	 */
	if (!anyadded && ndropped == 0)
		goto unchanged;
	*changed = true;
	goto done;

unchanged:
	memcpy(out, cur, sizeof(VecNbr) * ncur);
	nout = ncur;
	ndropped = 0;
done:
	edit->ndropped = ndropped;
	edit->nadded = 0;
	if (*changed)
	{
		/* (edges the fill added are not reported: they get no back-link) */
		for (int i = 0; i < (nheur >= 0 ? nheur : nout); i++)
		{
			int			k;

			for (k = 0; k < ncur; k++)
				if (cur[k].id == out[i].id)
					break;
			if (k == ncur)
				edit->added[edit->nadded++] = out[i].id;
		}
	}
	if (cands != stackc)
		pfree(cands);
	if (sel != stacks)
		pfree(sel);
	return nout;
}

/*
 * Neighbour search for a new element with vector q and the given level:
 * greedy descent from *ep (on entry_level) to level + 1, then a search with
 * ef on every level from min(level, entry_level) down to 0, selecting each
 * level's neighbours with the heuristic into sel[lc][0..nsel[lc]) (palloc'd
 * here).  With dedup, a live element holding exactly q (distance 0) that
 * takes heaptid ends the insert: returns false.  ep must hold ef entries.
 * Shared by the in-memory build and the on-disk insert.
 */
bool
vec_find_neighbors(VecGraph *g, const float *q, VecCand *ep, int entry_level,
				   int level, int ef, bool dedup, ItemPointer heaptid,
				   VecCand **sel, int *nsel, float *scratch)
{
	VecCand    *res = palloc(sizeof(VecCand) * Max(ef, 1));
	int			nep = 1;
	VecSearchScratch *scr = vec_search_scratch_acquire(g);

	if (entry_level > level)
		vec_greedy_descend(g, q, ep, entry_level, level);

	for (int lc = Min(level, entry_level); lc >= 0; lc--)
	{
		int			n;
		int			cap = VEC_LEVEL_CAP(lc, g->m);

		vec_idset_reuse(&scr->visited, scr->cxt, ef * g->m);
		n = vec_search_layer(g, q, ep, nep, ef, lc, res, &scr->visited);

		/* the identical vector already indexed: share its element */
		if (lc == 0 && dedup)
		{
			for (int i = 0; i < n && res[i].dist <= 0; i++)
				if (g->ops->add_heaptid(g, &res[i], q, heaptid))
				{
					vec_search_scratch_release(g);
					pfree(res);
					return false;
				}
		}

		sel[lc] = palloc(sizeof(VecCand) * cap);
		nsel[lc] = vec_select_neighbors(g, res, n, cap, sel[lc], scratch);
		if (n > 0)
		{
			memcpy(ep, res, sizeof(VecCand) * n);
			nep = n;
		}
	}
	vec_search_scratch_release(g);
	pfree(res);
	return true;
}

/*
 * Give base an in-edge on level lc from the lists sel[0..nsel) (the
 * heuristic's choice among base's nearest): each takes it if its own
 * heuristic keeps it.  With ensure, if none did (and, with check_named,
 * none already names it), the nearest that can takes it in place of the
 * farthest edge can_evict allows (a forced edit).  Used by VACUUM and the
 * build to link unreachable elements.  Returns true if an edge had to be
 * forced.
 */
bool
vec_link_in_edges(VecGraph *g, const VecCand *base, const VecCand *sel, int nsel, int lc,
				  bool ensure, bool check_named,
				  bool (*can_evict) (void *arg, uint64 id), void *evict_arg,
				  float *scratch)
{
	for (int pass = 0; pass < 2; pass++)
	{
		bool		linked = false;

		for (int i = 0; i < nsel && !(pass == 1 && linked); i++)
		{
			VecListEdit edit;
			VecCand		me = *base;

			if (sel[i].id == base->id)
				continue;
			me.dist = sel[i].dist;
			memset(&edit, 0, offsetof(VecListEdit, added));
			edit.add = &me;
			edit.nadd = 1;
			edit.scratch = scratch;
			edit.force = (pass == 1);
			edit.can_evict = can_evict;
			edit.evict_arg = evict_arg;
			(void) g->ops->update_list(g, &sel[i], lc, &edit);
			for (int j = 0; j < edit.nadded; j++)
				linked |= (edit.added[j] == base->id);
		}

		/*
		 * With check_named, a list that already names it counts (an element
		 * linked earlier in the same walk may have kept its edge to this
		 * one): no edge is forced then.
		 */
		for (int i = 0; check_named && i < nsel && !linked; i++)
		{
			VecNbr		nbrs[2 * VECHNSW_MAX_M];
			int			nn = g->ops->neighbors(g, &sel[i], lc, nbrs);

			for (int j = 0; j < nn; j++)
				linked |= (nbrs[j].id == base->id);
		}
		if (linked || !ensure)
			return pass == 1;
	}
	return true;
}

/*
 * Link a new element (self: id, version and, on disk, its neighbour tuple)
 * into levels 0..top, bottom up: with ownlists, its own list on the level
 * first, then the back-link from each selected neighbour, pruned by the
 * heuristic when that list is full.  code is the new element's RaBitQ code
 * (disk, level 0), or NULL.  Whoever reaches the element on a level finds
 * its lists on every lower level already filled.  Returns how many list
 * updates had to start over because another backend changed the list
 * meanwhile (reported at DEBUG1 by the insert: tests use it to see that
 * the optimistic path was raced).
 */
int
vec_link_neighbors(VecGraph *g, const VecCand *self, int top, VecCand **sel,
				   const int *nsel, bool ownlists, const char *code, float *scratch)
{
	VecListEdit edit;
	int			retries = 0;

	for (int lc = 0; lc <= top; lc++)
	{
		memset(&edit, 0, offsetof(VecListEdit, added));
		edit.scratch = scratch;
		if (ownlists && nsel[lc] > 0)
		{
			edit.add = sel[lc];
			edit.nadd = nsel[lc];
			(void) g->ops->update_list(g, self, lc, &edit);
			retries += edit.retries;
		}
		for (int i = 0; i < nsel[lc]; i++)
		{
			VecCand		me = *self;

			me.dist = sel[lc][i].dist;
			memset(&edit, 0, offsetof(VecListEdit, added));
			edit.scratch = scratch;
			edit.add = &me;
			edit.nadd = 1;
			edit.addcode = lc == 0 ? code : NULL;
			(void) g->ops->update_list(g, &sel[lc][i], lc, &edit);
			retries += edit.retries;
		}
	}
	return retries;
}

/* ---------------------------------------------------------------- page walk */

void
vec_walk_init(VecPageWalk *w, Relation index, BufferAccessStrategy strategy)
{
	w->index = index;
	w->strategy = strategy;
	w->blkno = VECHNSW_METAPAGE_BLKNO;
	w->nblocks = RelationGetNumberOfBlocks(index);
}

Page
vec_walk_next(VecPageWalk *w, int lockmode, Buffer *buf)
{
	while (++w->blkno < w->nblocks)
	{
		Page		page;

		vacuum_delay_point();	/* (also CHECK_FOR_INTERRUPTS) */
		*buf = ReadBufferExtended(w->index, MAIN_FORKNUM, w->blkno, RBM_NORMAL, w->strategy);
		if (lockmode == VEC_LOCK_CLEANUP)
			LockBufferForCleanup(*buf);
		else
			LockBuffer(*buf, lockmode);
		page = BufferGetPage(*buf);
		if (PageIsNew(page))
		{
			UnlockReleaseBuffer(*buf);
			continue;
		}
		vec_check_page(w->index, page, w->blkno);
		/* every item one of ours, with its header (XX002 otherwise) */
		for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++)
		{
			Size		len;

			(void) vec_page_tuple(w->index, page, w->blkno, off, &len);
		}
		return page;
	}
	*buf = InvalidBuffer;
	return NULL;
}

/* ---------------------------------------------------------------- disk graph */

/*
 * A block number read from a page (an edge, the entry point, a neighbour
 * tuple's location) must name an element page: not the meta page, and not
 * InvalidBlockNumber, which ReadBuffer would take for P_NEW and extend the
 * index.  Blocks past the end make ReadBuffer fail with an ERROR by itself.
 */
void
vec_check_blkno(Relation index, BlockNumber blkno)
{
	if (blkno == VECHNSW_METAPAGE_BLKNO || blkno == InvalidBlockNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" names block %u as an element page",
						RelationGetRelationName(index), blkno)));
}

/*
 * A locked element page must look like one before anything is read from
 * it: all zeroes (a page added by an insert that crashed before logging
 * it), or our special space, page id and flags, and sane bounds.  Costs a
 * few comparisons per page access.
 */
void
vec_check_page(Relation index, Page page, BlockNumber blkno)
{
	if (PageIsNew(page))
		return;
	vec_check_page_header(index, page, blkno);
	if (VecPageGetOpaque(page)->page_id != VECHNSW_PAGE_ID ||
		VecPageGetOpaque(page)->flags != VEC_PAGE_ELEMENT)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" contains a corrupted page at block %u",
						RelationGetRelationName(index), blkno),
				 errhint("Please REINDEX it.")));
}

/*
 * The part of vec_check_page that reads only the page header, which a
 * reader of line pointers touches anyway: the hot paths (graph visits)
 * use this one, so that checking costs no extra cache miss on the special
 * space at the page's end.  Bounds of line pointers and tuples are checked
 * by vec_page_item_len.
 */
void
vec_check_page_header(Relation index, Page page, BlockNumber blkno)
{
	PageHeader	ph = (PageHeader) page;

	if (PageIsNew(page))
		return;
	if (ph->pd_special != BLCKSZ - MAXALIGN(sizeof(VecPageOpaqueData)) ||
		ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper > ph->pd_special)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" contains a corrupted page at block %u",
						RelationGetRelationName(index), blkno),
				 errhint("Please REINDEX it.")));
}

/*
 * A block an edge, the entry point or an element names: an element page
 * (vec_check_blkno) that exists.  The disk graph remembers the index's
 * size and asks again only for a block past it (the index may have grown
 * since); a block still past the end is corruption (XX002), not ReadBuffer's
 * error about a missing block.
 */
static void
vec_dg_check_blkno(VecDiskGraph *dg, BlockNumber blkno, OffsetNumber off)
{
	vec_check_blkno(dg->index, blkno);
	if (blkno < dg->nblocks)
		return;
	dg->nblocks = RelationGetNumberOfBlocks(dg->index);
	if (blkno >= dg->nblocks)
		vec_report_corrupt(dg->index, blkno, off, "an edge names a block past the end of the index");
}

/*
 * Recent buffers.  Pinning a block through ReadBuffer looks it up in the
 * shared buffer mapping table under a partition lock: on a graph walk that
 * is one lookup per element visited, the largest share of a query's time
 * after the distances.  Each backend keeps, per index, the buffer each block
 * was found in last time, and first asks ReadRecentBuffer (PostgreSQL 14+)
 * to pin that buffer if it still holds the block: a check of the buffer's
 * tag under its header spinlock, no table lookup.  A wrong hint (the buffer
 * was evicted and reused) costs one failed check and a normal ReadBuffer.
 * The hints live in TopMemoryContext, in VEC_NHINTS slots keyed by
 * relfilenode and replaced round robin, so an index rewritten by REINDEX or
 * TRUNCATE simply stops being hinted; a slot taken over by another index
 * while a walk still points at it only gives failed checks.
 */
#define VEC_NHINTS 8

static VecBufHints vec_hints[VEC_NHINTS];
static int	vec_hints_next = 0;

static VecBufHints *
vec_buf_hints(Relation index)
{
	VecBufHints *h;
	BlockNumber size;

	for (int i = 0; i < VEC_NHINTS; i++)
		if (vec_hints[i].bufs != NULL && RelFileNodeEquals(vec_hints[i].node, index->rd_node))
			return &vec_hints[i];
	h = &vec_hints[vec_hints_next];
	vec_hints_next = (vec_hints_next + 1) % VEC_NHINTS;
	if (h->bufs != NULL)
		pfree(h->bufs);
	/* unused until complete: an ERROR below must not leave it half set up */
	h->bufs = NULL;
	h->size = 0;
	h->node = index->rd_node;
	size = Max(RelationGetNumberOfBlocks(index), 64);
	h->bufs = MemoryContextAllocExtended(TopMemoryContext, sizeof(Buffer) * size,
										 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	h->size = size;
	return h;
}

/*
 * Prefetch addresses for both walks, through the recent-buffer hints: the
 * page of a block's last known buffer, without a pin.  A stale hint only
 * prefetches the wrong memory; nothing is read from it but line pointers
 * and an element's neighbour TID, kept inside the page and used only as
 * prefetch addresses.
 */
static inline char *
vec_dg_hinted_page(VecDiskGraph *dg, BlockNumber blk)
{
	VecBufHints *h = dg->hints;

	if (blk < h->size && h->bufs[blk] != InvalidBuffer)
		return (char *) BufferGetPage(h->bufs[blk]);
	return NULL;
}

/*
 * A prefetch the compiler keeps.  GCC 12 at -O2 dropped most of the
 * __builtin_prefetch calls of these walks (only one of the six in the walk
 * on codes reached the object code, none of a loop that did nothing but
 * prefetch); an asm statement is never dropped.  Elsewhere the builtin.
 */
static inline void
vec_prefetch_volatile(const void *p)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__asm__ volatile("prefetcht0 %0"::"m"(*(const char *) p));
#else
	__builtin_prefetch(p);
#endif
}

/*
 * Start loading what pinning block blkno through its hint will touch: the
 * buffer's descriptor (pinning updates its state word) and the page's
 * header.  Both are only prefetched, never read, so a hint that is out of
 * date costs nothing but the prefetch.
 */
static inline void
vec_dg_prefetch_pin(VecDiskGraph *dg, BlockNumber blkno)
{
	VecBufHints *h = dg->hints;
	Buffer		b;

	if (blkno >= h->size)
		return;
	b = h->bufs[blkno];
	if (b <= 0 || b > NBuffers)
		return;					/* none, or a local buffer */
	vec_prefetch_volatile(GetBufferDescriptor(b - 1));
	vec_prefetch_volatile(BufferGetPage(b));
}

/*
 * The start of element id's tuple (header, first bytes of its vector), from
 * its hinted page: returns the tuple's offset in that page (and the page
 * in *pagep, if given) so that callers can prefetch more of it, or 0 when
 * there is no hint or the line pointer does not point inside the page.
 */
static inline unsigned
vec_dg_prefetch_element(VecDiskGraph *dg, uint64 id, char **pagep)
{
	char	   *page = vec_dg_hinted_page(dg, (BlockNumber) (id >> 16));
	OffsetNumber offno = (OffsetNumber) (id & 0xFFFF);
	unsigned	off;

	if (pagep)
		*pagep = page;
	if (page == NULL || offno < FirstOffsetNumber ||
		offno > (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData))
		return 0;
	off = ItemIdGetOffset(PageGetItemId((Page) page, offno));
	if (off < SizeOfPageHeaderData || off >= BLCKSZ - 256)
		return 0;
	for (unsigned b = 0; b < 256; b += 64)
		vec_prefetch_volatile(page + off + b);
	return off;
}

/*
 * Pin block blkno of the index (already checked to exist), through the
 * recent-buffer hint when it is right.
 */
static Buffer
vec_dg_read(VecDiskGraph *dg, BlockNumber blkno)
{
	VecBufHints *h = dg->hints;
	Buffer		buf;

	if (blkno < h->size && h->bufs[blkno] != InvalidBuffer &&
		RelFileNodeEquals(h->node, dg->index->rd_node) &&
		ReadRecentBuffer(dg->index->rd_node, MAIN_FORKNUM, blkno, h->bufs[blkno]))
		return h->bufs[blkno];
	buf = ReadBuffer(dg->index, blkno);
	if (!RelFileNodeEquals(h->node, dg->index->rd_node))
		return buf;
	if (blkno >= h->size)
	{
		BlockNumber newsize = Max(h->size * 2, blkno + 1);

		h->bufs = repalloc_huge(h->bufs, sizeof(Buffer) * newsize);
		memset(h->bufs + h->size, 0, sizeof(Buffer) * (newsize - h->size));
		h->size = newsize;
	}
	h->bufs[blkno] = buf;
	return buf;
}

/*
 * Pin (reusing the last pin when possible) and share-lock a block.
 * Only one buffer lock is ever held by these routines.  With no pin held,
 * dg->blkno is InvalidBlockNumber: a block number read from a damaged page
 * can be that too, so "no pin" is tested on the buffer, never inferred
 * from a matching block number.
 */
static Page
vec_dg_lock(VecDiskGraph *dg, BlockNumber blkno)
{
	Page		page;

	if (!BufferIsValid(dg->buf) || dg->blkno != blkno)
	{
		if (BufferIsValid(dg->buf))
			ReleaseBuffer(dg->buf);
		dg->buf = InvalidBuffer;
		dg->blkno = InvalidBlockNumber;
		vec_dg_check_blkno(dg, blkno, InvalidOffsetNumber);
		dg->buf = vec_dg_read(dg, blkno);
		dg->blkno = blkno;
	}
	LockBuffer(dg->buf, BUFFER_LOCK_SHARE);
	vec_counters.page_reads++;
	page = BufferGetPage(dg->buf);
	vec_check_page_header(dg->index, page, blkno);
	return page;
}

/*
 * The neighbour tuple at tid on the locked page, if it belongs to the
 * element version given; NULL if it carries another version (the element
 * was freed, and maybe reused, since its element tuple was read).  Its
 * line pointer never holds anything but a neighbour tuple of this index
 * (type, m, size) or a free element's tombstone: anything else raises
 * XX002.
 */
static VecNeighborTuple
vec_dg_neighbor_tuple(VecDiskGraph *dg, Page page, const ItemPointerData *tid, uint16 version)
{
	Size		len;
	VecNeighborTuple nt = vec_page_item_len(page, ItemPointerGetOffsetNumber(tid), &len);

	if (vec_neighbor_matches(nt, len, version, -1, dg->g.m) && nt->codesize == dg->code_bytes)
		return nt;
	if (nt != NULL && len >= VEC_NEIGHBOR_TOMBSTONE_SIZE && nt->type == VEC_TUPLE_NEIGHBOR &&
		nt->version != version && (nt->m == 0 || nt->m == dg->g.m))
		return NULL;
	vec_report_corrupt(dg->index, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
					   "an element's neighbour tuple is missing or malformed");
	return NULL;				/* keep compiler quiet */
}

static int
vec_dg_neighbors(VecGraph *g, const VecCand *c, int lc, VecNbr *out)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	Page		page;
	VecNeighborTuple nt;
	int			n = 0;

	if (!ItemPointerIsValid(&c->ntid))
		return 0;
	page = vec_dg_lock(dg, ItemPointerGetBlockNumber(&c->ntid));
	nt = vec_dg_neighbor_tuple(dg, page, &c->ntid, c->version);
	if (nt != NULL && lc <= nt->level)
	{
		int			start = VEC_LEVEL_START(lc, nt->m);
		int			cap = VEC_LEVEL_CAP(lc, nt->m);

		for (int i = 0; i < cap; i++)
		{
			VecNeighborEntry *e = &nt->entries[start + i];

			if (!ItemPointerIsValid(&e->tid))
				continue;
			out[n].id = vec_tid_to_id(&e->tid);
			out[n].version = e->version;
			out[n].distance = e->distance;
			n++;
		}
	}
	LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
	return n;
}

/* fill *out from an element tuple */
static void
vec_cand_from_element(VecCand *out, VecElementTuple et, uint64 id)
{
	out->id = id;
	out->level = et->level;
	out->state = et->state;
	out->ntids = et->ntids;
	out->version = et->version;
	out->ntid = et->neighbortid;
	memcpy(out->heaptids, et->heaptids, sizeof(ItemPointerData) * et->ntids);
}

/*
 * Error context naming the heap row whose vector is being indexed (a build
 * or an insert): a bad vector in a large table can then be found by its
 * ctid.  arg is a VecRowContext.
 */
void
vec_row_errcontext(void *arg)
{
	VecRowContext *rc = (VecRowContext *) arg;

	errcontext("while indexing heap row (%u,%u) into index \"%s\"",
			   ItemPointerGetBlockNumberNoCheck(rc->tid), ItemPointerGetOffsetNumberNoCheck(rc->tid),
			   RelationGetRelationName(rc->index));
}

/* raise XX002 for a malformed item of an index page */
void
vec_report_corrupt(Relation index, BlockNumber blkno, OffsetNumber off, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted at block %u, offset %u: %s",
					RelationGetRelationName(index), blkno, off, what),
			 errhint("Please REINDEX it.")));
}

/*
 * Item off of an element page, read in a walk over the page's items: every
 * line pointer of such a page holds an element tuple (its 64-byte header
 * at least) or a neighbour tuple (its 8-byte header at least), since items
 * are never removed (VACUUM overwrites them with tombstones).  Anything
 * else raises XX002.
 */
char *
vec_page_tuple(Relation index, Page page, BlockNumber blkno, OffsetNumber off, Size *len)
{
	char	   *item = vec_page_item_len(page, off, len);

	if (item == NULL)
		vec_report_corrupt(index, blkno, off, "line pointer holds no tuple");
	if (item[0] == VEC_TUPLE_ELEMENT && *len >= VEC_ELEMENT_TOMBSTONE_SIZE)
		return item;
	if (item[0] == VEC_TUPLE_NEIGHBOR && *len >= VEC_NEIGHBOR_TOMBSTONE_SIZE)
		return item;
	vec_report_corrupt(index, blkno, off, "item is neither an element nor a neighbour tuple");
	return NULL;				/* keep compiler quiet */
}

/*
 * The element tuple that an edge or the entry point (id, version) names, on
 * its locked page.  NULL when the slot has moved on since the edge was made
 * (freed, or freed and reused: another version), which every reader
 * ignores.  Anything else that is not a well-formed element of this index,
 * in use (live or deleted), raises XX002 naming block and offset: no edge
 * can name a line pointer that was never an element tuple, since an
 * element's tuples are written (and WAL-logged) before any edge to it.
 * *len gets the tuple's length.
 */
VecElementTuple
vec_element_at(Relation index, Page page, uint64 id, uint16 version, int dim, int storage,
			   Size *len)
{
	BlockNumber blk = (BlockNumber) (id >> 16);
	OffsetNumber off = (OffsetNumber) (id & 0xFFFF);
	VecElementTuple et = vec_page_item_len(page, off, len);
	const char *what = NULL;

	if (et == NULL)
		what = "an edge names a line pointer that holds no tuple";
	else if (*len < VEC_ELEMENT_TOMBSTONE_SIZE || et->type != VEC_TUPLE_ELEMENT)
		what = "an edge names a tuple that is not an element";
	else if (et->version != version)
		return NULL;			/* stale edge */
	else if (et->state == VEC_ELEM_FREE)
		what = "an edge names a free element with its current version";
	else if (et->state > VEC_ELEM_FREE || et->ntids > VECHNSW_HEAPTIDS ||
			 (et->state == VEC_ELEM_LIVE) != (et->ntids > 0) ||
			 et->level > VECHNSW_MAX_LEVEL || et->dim != dim ||
			 !ItemPointerIsValid(&et->neighbortid) ||
			 *len < offsetof(VecElementTupleData, data) + VEC_VECTOR_BYTES(dim, storage))
		what = "element tuple header is out of range";
	if (what)
		vec_report_corrupt(index, blk, off, what);
	return et;
}

static const float *
vec_dg_vector(VecGraph *g, uint64 id, uint16 version, float *dst)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	Page		page;
	VecElementTuple et;
	bool		ok = false;
	Size		len;

	page = vec_dg_lock(dg, (BlockNumber) (id >> 16));
	et = vec_element_at(dg->index, page, id, version, g->dim, g->storage, &len);
	if (et != NULL)
	{
		vec_load_vector(g->storage, et->data, dst, g->dim);
		ok = true;
	}
	LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
	return ok ? dst : NULL;
}

/* bytes of an element tuple before its vector, for the prefetch's reach */
#define VEC_ELEMENT_HEADER_PREFETCH	((unsigned) offsetof(VecElementTupleData, data))

/*
 * Visit count neighbours.  Three passes: the first starts loading, for each
 * neighbour, what pinning its page will touch (the buffer descriptor and
 * the page header, through the recent-buffer hints); the second reads each
 * hinted page's line pointer, without a pin, only as a prefetch address
 * (kept inside the page), and starts loading the start of the element
 * tuple; the third pins, locks and reads each element in turn and computes
 * its distance, while it prefetches the rest of the element tuple two
 * neighbours ahead.  The cache misses on descriptors and pages overlap
 * instead of each stalling a pin or a distance.  A page is pinned while
 * its neighbours are read and released before the next page is pinned, so
 * the walk holds at most two pins (this one and dg->buf): holding a whole
 * batch's pins overflowed the backend's private pin array into its hash
 * table.  A hint that is out of date only makes a prefetch useless; the
 * locked pass re-reads everything.
 */
static void
vec_dg_visit(VecGraph *g, const VecNbr *nbrs, int count, const float *q,
			 VecCand *out, bool *ok)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	unsigned	offs[2 * VECHNSW_MAX_M];
	char	   *pages[2 * VECHNSW_MAX_M];
	unsigned	tupend = VEC_ELEMENT_HEADER_PREFETCH + VEC_VECTOR_BYTES(g->dim, g->storage);
	Buffer		pinned = InvalidBuffer;
	BlockNumber pinnedblk = InvalidBlockNumber;

	Assert(count <= 2 * VECHNSW_MAX_M);
	for (int i = 0; i < count; i++)
		vec_dg_prefetch_pin(dg, (BlockNumber) (nbrs[i].id >> 16));
	for (int i = 0; i < count; i++)
		offs[i] = vec_dg_prefetch_element(dg, nbrs[i].id, &pages[i]);	/* 0: none */
	for (int i = 0; i < count; i++)
	{
		BlockNumber blk = (BlockNumber) (nbrs[i].id >> 16);
		Buffer		buf;
		Page		page;
		VecElementTuple et;
		Size		len;

		/* the rest of the element tuple two neighbours ahead (inside its page) */
		if (i + 2 < count && offs[i + 2] != 0)
		{
			unsigned	end = Min(offs[i + 2] + tupend, BLCKSZ);

			for (unsigned o = offs[i + 2] + 256; o < end; o += 64)
				vec_prefetch_volatile(pages[i + 2] + o);
		}

		if (blk == dg->blkno && BufferIsValid(dg->buf))
			buf = dg->buf;
		else if (BufferIsValid(pinned) && blk == pinnedblk)
			buf = pinned;
		else
		{
			/* an ERROR releases the pins and locks held (resource owner) */
			vec_dg_check_blkno(dg, blk, (OffsetNumber) (nbrs[i].id & 0xFFFF));
			if (BufferIsValid(pinned))
				ReleaseBuffer(pinned);
			pinned = vec_dg_read(dg, blk);
			pinnedblk = blk;
			buf = pinned;
		}
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		vec_counters.page_reads++;
		page = BufferGetPage(buf);
		vec_check_page_header(dg->index, page, blk);
		et = vec_element_at(dg->index, page, nbrs[i].id, nbrs[i].version, g->dim, g->storage,
							&len);
		ok[i] = false;
		if (et != NULL)
		{
			out[i].dist = vec_elem_distance(g->metric, g->storage, q, et->data, g->dim);
			vec_counters.exact_distances++;
			vec_cand_from_element(&out[i], et, nbrs[i].id);
			ok[i] = true;
		}
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	}
	if (BufferIsValid(pinned))
		ReleaseBuffer(pinned);
}

/*
 * Change base's list on level lc by edit, optimistically (docs/LOCKING.md):
 * copy the list (and on level 0 its code slots) under a share lock, compute
 * the new list with no lock held (the heuristic reads other elements'
 * vectors, one page at a time), then take the exclusive lock and install it
 * only if the list is still byte for byte what was copied; otherwise start
 * over.  It starts over until it succeeds: every failed attempt means that
 * another backend installed a change of this list meanwhile, so the system
 * as a whole makes progress, and the wait can be cancelled.  Code slots of
 * kept edges travel with them; a new edge's code comes from edit->addcode
 * (a back-link) or from the target's element tuple.  Nothing can raise an
 * ERROR between GenericXLogStart and GenericXLogFinish.
 */
static bool
vec_dg_update_list(VecGraph *g, const VecCand *base, int lc, VecListEdit *edit)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	int			m = g->m;
	int			cap = VEC_LEVEL_CAP(lc, m);
	int			start = VEC_LEVEL_START(lc, m);
	VecNeighborEntry old[2 * VECHNSW_MAX_M];
	VecNeighborEntry new[2 * VECHNSW_MAX_M];
	VecNbr		cur[2 * VECHNSW_MAX_M];
	int			curslot[2 * VECHNSW_MAX_M];
	VecNbr		out[2 * VECHNSW_MAX_M];
	bool		changed = false;
	BlockNumber blkno;
	Buffer		buf;

	if (!ItemPointerIsValid(&base->ntid))
		return false;
	blkno = ItemPointerGetBlockNumber(&base->ntid);
	vec_dg_check_blkno(dg, blkno, ItemPointerGetOffsetNumber(&base->ntid));
	if (dg->code_bytes > 0 && dg->codebuf == NULL)
	{
		dg->codebufsize = (Size) 2 * 2 * m * dg->code_bytes;
		dg->codebuf = MemoryContextAlloc(dg->cxt, dg->codebufsize);
	}
	buf = ReadBuffer(dg->index, blkno);

	for (;;)
	{
		VecNeighborTuple nt;
		Page		page;
		int			ncur = 0,
					nout;
		int			cs;
		char	   *oldcodes = dg->codebuf;
		char	   *newcodes = dg->codebuf ? dg->codebuf + (Size) cap * dg->code_bytes : NULL;
		GenericXLogState *state;

		CHECK_FOR_INTERRUPTS();
		changed = false;

		/* 1. copy the current list under a share lock */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		vec_check_page(dg->index, page, blkno);
		nt = vec_dg_neighbor_tuple(dg, page, &base->ntid, base->version);
		if (nt == NULL || lc > nt->level)
		{
			/* the element was freed (or never had this level) */
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			break;
		}
		memcpy(old, &nt->entries[start], sizeof(VecNeighborEntry) * cap);
		cs = (lc == 0 && dg->code_bytes > 0 && nt->codesize == dg->code_bytes) ? nt->codesize : 0;
		if (cs > 0)
			memcpy(oldcodes, VecNeighborCode(nt, 0), (Size) cap * cs);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);

		/* 2. compute the new list without holding a lock */
		for (int i = 0; i < cap; i++)
		{
			if (!ItemPointerIsValid(&old[i].tid))
				continue;
			cur[ncur].id = vec_tid_to_id(&old[i].tid);
			cur[ncur].version = old[i].version;
			cur[ncur].distance = old[i].distance;
			curslot[ncur] = i;
			ncur++;
		}
		nout = vec_list_merge(g, base->id, cur, ncur, cap, edit, out, &changed);
		if (!changed)
			break;

		for (int i = 0; i < cap; i++)
		{
			VecNeighborEntry *e = &new[i];
			char	   *slot = cs > 0 ? newcodes + (Size) i * cs : NULL;
			int			k;

			if (i >= nout)
			{
				ItemPointerSetInvalid(&e->tid);
				e->version = 0;
				e->distance = 0;
				if (slot)
					memset(slot, 0, cs);
				continue;
			}
			vec_id_to_tid(out[i].id, &e->tid);
			e->version = out[i].version;
			e->distance = out[i].distance;
			if (slot == NULL)
				continue;
			/* the code: carried with a kept edge, given, or read */
			for (k = 0; k < ncur; k++)
				if (cur[k].id == out[i].id && cur[k].version == out[i].version)
					break;
			if (k < ncur)
				memcpy(slot, oldcodes + (Size) curslot[k] * cs, cs);
			else if (edit->addcode != NULL && edit->nadd == 1 && edit->add[0].id == out[i].id)
				memcpy(slot, edit->addcode, cs);
			else if (!vec_disk_code(dg, out[i].id, out[i].version, slot))
			{
				/* the target went away meanwhile: leave the slot empty */
				ItemPointerSetInvalid(&e->tid);
				e->version = 0;
				e->distance = 0;
				memset(slot, 0, cs);
			}
		}

		/* 3. install it if the list is unchanged, else start over */
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		vec_check_page(dg->index, page, blkno);
		nt = vec_dg_neighbor_tuple(dg, page, &base->ntid, base->version);
		if (nt == NULL || lc > nt->level)
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			changed = false;
			break;
		}
		if (memcmp(&nt->entries[start], old, sizeof(VecNeighborEntry) * cap) != 0 ||
			(cs > 0 && nt->codesize != cs))
		{
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			edit->retries++;
			continue;
		}
		state = GenericXLogStart(dg->index);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		nt = (VecNeighborTuple) vec_page_item(page, ItemPointerGetOffsetNumber(&base->ntid));
		memcpy(&nt->entries[start], new, sizeof(VecNeighborEntry) * cap);
		if (cs > 0)
			memcpy(VecNeighborCode(nt, 0), newcodes, (Size) cap * cs);
		GenericXLogFinish(state);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		break;
	}
	ReleaseBuffer(buf);
	return changed;
}

/*
 * Add heaptid to element c, which holds the vector vec: lock its page
 * exclusively and re-check (type, version, live, room, the stored bytes).
 */
static bool
vec_dg_add_heaptid(VecGraph *g, const VecCand *c, const float *vec, ItemPointer heaptid)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	Size		vbytes = VEC_VECTOR_BYTES(g->dim, g->storage);
	const void *stored = vec;
	void	   *tmp = NULL;
	ItemPointerData etid;
	Buffer		buf;
	Page		page;
	VecElementTuple et;
	Size		len;
	bool		done = false;

	if (g->storage != VEC_STORAGE_F32)
	{
		tmp = palloc(vbytes);
		vec_store_vector(g->storage, vec, tmp, g->dim);
		stored = tmp;
	}
	vec_id_to_tid(c->id, &etid);
	vec_dg_check_blkno(dg, ItemPointerGetBlockNumber(&etid), ItemPointerGetOffsetNumber(&etid));
	buf = ReadBuffer(dg->index, ItemPointerGetBlockNumber(&etid));
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	vec_check_page(dg->index, page, ItemPointerGetBlockNumber(&etid));
	et = vec_element_at(dg->index, page, c->id, c->version, g->dim, g->storage, &len);
	if (et != NULL && et->state == VEC_ELEM_LIVE && et->ntids < VECHNSW_HEAPTIDS &&
		memcmp(et->data, stored, vbytes) == 0)
	{
		GenericXLogState *state = GenericXLogStart(dg->index);

		page = GenericXLogRegisterBuffer(state, buf, 0);
		et = vec_page_item(page, ItemPointerGetOffsetNumber(&etid));
		et->heaptids[et->ntids++] = *heaptid;
		GenericXLogFinish(state);
		done = true;
	}
	UnlockReleaseBuffer(buf);
	if (tmp)
		pfree(tmp);
	return done;
}

static const VecGraphOps vec_disk_ops = {
	vec_dg_neighbors,
	vec_dg_visit,
	vec_dg_vector,
	vec_dg_update_list,
	vec_dg_add_heaptid
};

void
vec_disk_graph_init(VecDiskGraph *dg, Relation index, VecIndexInfo *info, int dim)
{
	dg->g.ops = &vec_disk_ops;
	dg->g.metric = info->metric;
	dg->g.storage = info->storage;
	dg->g.dim = dim;
	dg->g.m = info->m;
	dg->g.scratch = NULL;
	dg->index = index;
	dg->hints = vec_buf_hints(index);
	dg->buf = InvalidBuffer;
	dg->blkno = InvalidBlockNumber;
	dg->code_bytes = info->code_bytes;
	dg->nblocks = 0;			/* asked for at the first block read */
	dg->codebuf = NULL;
	dg->codebufsize = 0;
	dg->cxt = CurrentMemoryContext;
}

/* copy the code slot of element id (if its version matches) into dst */
bool
vec_disk_code(VecDiskGraph *dg, uint64 id, uint16 version, char *dst)
{
	Page		page;
	VecElementTuple et;
	bool		ok = false;

	Size		len;

	page = vec_dg_lock(dg, (BlockNumber) (id >> 16));
	et = vec_element_at(dg->index, page, id, version, dg->g.dim, dg->g.storage, &len);
	if (et != NULL && et->codebytes == dg->code_bytes && dg->code_bytes > 0 &&
		len >= VEC_ELEMENT_TUPLE_SIZE(dg->g.dim, dg->g.storage, dg->code_bytes))
	{
		memcpy(dst, VecElementCode(et, dg->g.storage), dg->code_bytes);
		ok = true;
	}
	LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
	return ok;
}

void
vec_disk_graph_done(VecDiskGraph *dg)
{
	if (BufferIsValid(dg->buf))
		ReleaseBuffer(dg->buf);
	dg->buf = InvalidBuffer;
	dg->blkno = InvalidBlockNumber;
}

/* the entry point as a candidate with its distance to q; false if none */
bool
vec_disk_entry(VecDiskGraph *dg, VecMetaPageData *meta, const float *q, VecCand *out)
{
	VecNbr		n;
	ItemPointerData tid;
	bool		ok;

	for (int tries = 0;; tries++)
	{
		if (meta->entry_level < 0 || !BlockNumberIsValid(meta->entry_blkno))
			return false;
		ItemPointerSet(&tid, meta->entry_blkno, meta->entry_offno);
		n.id = vec_tid_to_id(&tid);
		n.version = meta->entry_version;
		n.distance = 0;
		vec_dg_visit(&dg->g, &n, 1, q, out, &ok);
		if (ok)
			return true;

		/*
		 * Another version in the entry's slot: without the entry lock (a
		 * scan), VACUUM may have moved the entry point and freed the old
		 * one since our meta page read; read it again.  The same entry
		 * point twice, or with the entry lock held, is corruption.
		 */
		vec_read_meta(dg->index, meta);
		if (tries >= 2 || (ItemPointerGetBlockNumber(&tid) == meta->entry_blkno &&
						   ItemPointerGetOffsetNumber(&tid) == meta->entry_offno &&
						   n.version == meta->entry_version))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" is corrupted: its entry point (%u,%u) names no element of version %u",
							RelationGetRelationName(dg->index), ItemPointerGetBlockNumber(&tid),
							ItemPointerGetOffsetNumber(&tid), n.version),
					 errhint("Please REINDEX it.")));
	}
}

/* ---------------------------------------------------------------- RaBitQ walk */

typedef struct VecCodeCand
{
	uint64		id;
	uint16		version;
} VecCodeCand;

/*
 * The level-0 entries of a candidate's neighbour tuple, when it lies on the
 * candidate's own page: found through the element tuple's neighbortid,
 * read without a pin from the hinted page (call it once the element
 * tuple's start has been prefetched and has had time to arrive).  Every
 * offset read is kept inside the page and used only as a prefetch address.
 */
static inline void
vec_dg_prefetch_neighbor_tuple(VecDiskGraph *dg, uint64 id)
{
	BlockNumber blk = (BlockNumber) (id >> 16);
	char	   *page = vec_dg_hinted_page(dg, blk);
	OffsetNumber offno = (OffsetNumber) (id & 0xFFFF);
	const OffsetNumber maxoff = (BLCKSZ - SizeOfPageHeaderData) / sizeof(ItemIdData);
	ItemPointerData ntid;
	unsigned	off,
				len;

	if (page == NULL || offno < FirstOffsetNumber || offno > maxoff)
		return;
	/* read once (volatile): the bounds check must hold for the value used */
	off = ItemIdGetOffset((volatile ItemIdData *) PageGetItemId((Page) page, offno));
	if (off < SizeOfPageHeaderData || off > BLCKSZ - sizeof(VecElementTupleData))
		return;
	memcpy(&ntid, page + off + offsetof(VecElementTupleData, neighbortid), sizeof(ntid));
	pg_compiler_barrier();		/* checked below: use this copy, not the page */
	if (ItemPointerGetBlockNumberNoCheck(&ntid) != blk)
		return;
	offno = ItemPointerGetOffsetNumberNoCheck(&ntid);
	if (offno < FirstOffsetNumber || offno > maxoff)
		return;
	off = ItemIdGetOffset(PageGetItemId((Page) page, offno));
	if (off < SizeOfPageHeaderData || off >= BLCKSZ)
		return;
	len = Min(offsetof(VecNeighborTupleData, entries) +
			  2 * dg->g.m * sizeof(VecNeighborEntry), BLCKSZ - off);
	for (unsigned b = 0; b < len; b += 64)
		vec_prefetch_volatile(page + off + b);
}

/*
 * Level-0 search that walks on RaBitQ estimates (search_mode = rabitq).
 *
 * Candidates are ordered by the distance estimated from the codes stored
 * with their in-neighbour's list.  Expanding a candidate reads its element
 * tuple (exact distance, heap TIDs) and its neighbour tuple (the edges and
 * the neighbours' codes) — usually one page — so a neighbour costs an
 * estimate, not a buffer access and a full distance.  Only expanded
 * elements enter the result list, with their exact distance: results are
 * exact distances, so their order is exact.  A neighbour is queued only if
 * the lower end of its estimate's error interval could beat the current
 * ef-th result.  Candidates are ranked by their estimate minus slack times
 * its error bound (vechnsw.rabitq_slack, passed in by the scan).
 */
int
vec_search_layer0_codes(VecDiskGraph *dg, const float *q, const VecRqQuery *qq,
						VecCand *ep, int nep, int ef, float slack, VecCand *result,
						VecIdSet *visited)
{
	VecGraph   *g = &dg->g;
	VecCodeCand *cpool;
	int			ncpool = 0;
	int			cpoolcap = Max(ef * 8, 256);
	VecCand    *rpool;
	int			nrpool = 0;
	VecHeap		cands;
	VecHeap		res;
	int			n;

	cpool = palloc_extended(sizeof(VecCodeCand) * cpoolcap, MCXT_ALLOC_HUGE);
	rpool = palloc_extended(sizeof(VecCand) * (ef + 1), MCXT_ALLOC_HUGE);
	vec_heap_init(&cands, cpoolcap, false);
	vec_heap_init(&res, ef + 1, true);

	/* entry points: queued with their exact distances (nep <= 64 < cpoolcap) */
	for (int i = 0; i < nep; i++)
	{
		if (!vec_idset_add(visited, ep[i].id))
			continue;
		cpool[ncpool].id = ep[i].id;
		cpool[ncpool].version = ep[i].version;
		vec_heap_push(&cands, ep[i].dist, ncpool);
		ncpool++;
	}

	while (cands.n > 0)
	{
		VecHeapItem c = vec_heap_pop(&cands);
		VecCodeCand cc = cpool[c.idx];
		Page		page;
		VecElementTuple et;
		VecNeighborTuple nt;
		VecCand		e;
		BlockNumber nblk;
		Size		elen;
		uint64		fresh[VECHNSW_MAX_M * 2];
		int			freshslot[VECHNSW_MAX_M * 2];
		int			nfresh;
		uint64		nextid;
		bool		samepage;

		if (res.n >= ef && c.dist > res.items[0].dist)
			break;
		CHECK_FOR_INTERRUPTS();

		/* the element tuple */
		page = vec_dg_lock(dg, (BlockNumber) (cc.id >> 16));
		et = vec_element_at(dg->index, page, cc.id, cc.version, g->dim, g->storage, &elen);
		if (et == NULL)
		{
			LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
			continue;
		}
		vec_cand_from_element(&e, et, cc.id);

		/*
		 * The candidate most likely to be expanded next (the queue's best
		 * now; a neighbour found below may still overtake it): start
		 * loading it while this one is worked on, in three steps that each
		 * read what the previous one loaded, so that no step waits for
		 * memory: its buffer descriptor and page header here, its element
		 * tuple once this element's neighbours are collected, its neighbour
		 * entries after this element's exact distance.
		 */
		nextid = cands.n > 0 ? cpool[cands.items[0].idx].id : 0;
		if (nextid != 0)
			vec_dg_prefetch_pin(dg, (BlockNumber) (nextid >> 16));

		/*
		 * Its neighbour tuple, usually on the same page: collect the
		 * neighbours not visited yet and prefetch their code slots, which
		 * arrive while the exact distance below reads the vector.
		 */
		nblk = ItemPointerGetBlockNumber(&e.ntid);
		samepage = (nblk == dg->blkno);
		if (!samepage)
		{
			/* elsewhere: the element's distance first, under its own lock */
			e.dist = vec_elem_distance(g->metric, g->storage, q, et->data, g->dim);
			LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
			page = vec_dg_lock(dg, nblk);
			nt = vec_dg_neighbor_tuple(dg, page, &e.ntid, e.version);
		}
		else
		{
			/* read under the same lock as its element: it must match */
			nt = vec_dg_neighbor_tuple(dg, page, &e.ntid, e.version);
			if (nt == NULL)
				vec_report_corrupt(dg->index, nblk, ItemPointerGetOffsetNumber(&e.ntid),
								   "neighbour tuple version differs from its element's on the same page");
		}
		nfresh = 0;
		if (nt != NULL && nt->codesize == dg->code_bytes && dg->code_bytes > 0)
		{
			int			cap = Min(2 * nt->m, VECHNSW_MAX_M * 2);

			for (int i = 0; i < cap; i++)
			{
				VecNeighborEntry *ne = &nt->entries[i];
				const char *slot;

				if (!ItemPointerIsValid(&ne->tid))
					continue;
				fresh[nfresh] = vec_tid_to_id(&ne->tid);
				if (vec_idset_contains(visited, fresh[nfresh]))
					continue;
				freshslot[nfresh++] = i;
				slot = VecNeighborCode(nt, i);
				for (int b = 0; b < dg->code_bytes; b += 64)
					vec_prefetch_volatile(slot + b);
			}
		}
		if (nextid != 0)
			(void) vec_dg_prefetch_element(dg, nextid, NULL);
		if (samepage)
			e.dist = vec_elem_distance(g->metric, g->storage, q, et->data, g->dim);
		vec_counters.exact_distances++;
		if (nextid != 0)
			vec_dg_prefetch_neighbor_tuple(dg, nextid);
		vec_counters.expansions++;

		/* the result list keeps the ef best exact distances of live elements */
		if (e.state == VEC_ELEM_LIVE && (res.n < ef || e.dist < res.items[0].dist))
		{
			int			slot;

			if (res.n < ef)
				slot = nrpool++;
			else
				slot = vec_heap_pop(&res).idx;	/* reuse the evicted slot */
			rpool[slot] = e;
			vec_heap_push(&res, e.dist, slot);
		}

		for (int k = 0; k < nfresh; k++)
		{
			int			i = freshslot[k];
			VecNeighborEntry *ne = &nt->entries[i];
			const char *slot = VecNeighborCode(nt, i);
			float		est,
						bound;
			uint64		id = fresh[k];

			vec_counters.estimates++;
			est = vec_rq_estimate_dist(g->metric, qq,
									   (const uint64 *) (slot + sizeof(VecRqFactors)),
									   (const VecRqFactors *) slot, &bound);
			if (res.n >= ef && est - bound >= res.items[0].dist)
				continue;
			if (!vec_idset_add(visited, id))
				continue;		/* listed twice */
			if (ncpool == cpoolcap)
			{
				cpoolcap *= 2;
				cpool = repalloc_huge(cpool, sizeof(VecCodeCand) * cpoolcap);
			}
			cpool[ncpool].id = id;
			cpool[ncpool].version = ne->version;
			/* its recent-buffer hint, read if it comes next */
			if ((BlockNumber) (id >> 16) < dg->hints->size)
				vec_prefetch_volatile(&dg->hints->bufs[id >> 16]);
			vec_heap_push(&cands, est - bound * slack, ncpool);
			ncpool++;
		}
		LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
	}

	n = vec_heap_drain(&res, rpool, result);
	pfree(cpool);
	pfree(rpool);
	pfree(cands.items);
	pfree(res.items);
	return n;
}
