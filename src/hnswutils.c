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

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "vecidx.h"

/*
 * Per-backend work counters of graph searches, shown by
 * vechnsw_search_counters(): what a query costs, independent of timing.
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
 * Size of one code slot (factors + one bit per padded dimension), or 0
 * when codes are off or a level-0 list with codes would take more than
 * three quarters of a page.
 */
int
vec_code_bytes(int bits, int dim, int m)
{
	int			slot;

	if (bits == 0 || dim == 0)
		return 0;
	slot = sizeof(VecRqFactors) + vec_rq_padded_dim(dim) / 8;
	if (VEC_NEIGHBOR_TUPLE_SIZE(0, m, slot) > VEC_PAGE_USABLE * 3 / 4)
		return 0;
	return slot;
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

void
vec_idset_init(VecIdSet *s, uint32 expected)
{
	uint32		size = 64;

	while (size < expected * 2)
		size <<= 1;
	s->keys = palloc0(sizeof(uint64) * size);
	s->mask = size - 1;
	s->count = 0;
}

static void
vec_idset_grow(VecIdSet *s)
{
	uint64	   *old = s->keys;
	uint32		oldsize = s->mask + 1;

	s->keys = palloc0(sizeof(uint64) * oldsize * 2);
	s->mask = oldsize * 2 - 1;
	for (uint32 i = 0; i < oldsize; i++)
	{
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
	h->items = palloc(sizeof(VecHeapItem) * cap);
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
		h->items = repalloc(h->items, sizeof(VecHeapItem) * h->cap);
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

/*
 * SEARCH-LAYER of the HNSW paper: best-first search from the entry points
 * ep[0..nep) on level lc with a result list of size ef.  The ef nearest
 * elements found are written to result[] (capacity >= ef) in ascending
 * distance order; returns their number.  'visited' must be initialised by
 * the caller; it is extended with every element whose distance was
 * computed.
 */
int
vec_search_layer(VecGraph *g, const float *q, VecCand *ep, int nep,
				 int ef, int lc, VecCand *result, VecIdSet *visited)
{
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

	pool = palloc(sizeof(VecCand) * poolcap);
	vec_heap_init(&cands, poolcap, false);
	vec_heap_init(&res, ef + 1, true);

	for (int i = 0; i < nep; i++)
	{
		if (!vec_idset_add(visited, ep[i].id))
			continue;
		pool[npool] = ep[i];
		vec_heap_push(&cands, ep[i].dist, npool);
		vec_heap_push(&res, ep[i].dist, npool);
		if (res.n > ef)
			(void) vec_heap_pop(&res);
		npool++;
		if (npool == poolcap)
		{
			poolcap *= 2;
			pool = repalloc(pool, sizeof(VecCand) * poolcap);
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
			pool = repalloc(pool, sizeof(VecCand) * poolcap);
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
				vec_heap_push(&res, pool[npool].dist, npool);
				if (res.n > ef)
					(void) vec_heap_pop(&res);
				npool++;
			}
		}
		if (npool == poolcap)
		{
			poolcap *= 2;
			pool = repalloc(pool, sizeof(VecCand) * poolcap);
		}
	}

	n = vec_heap_drain(&res, pool, result);

	pfree(pool);
	pfree(nbrs);
	pfree(ok);
	pfree(cands.items);
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

		v = g->ops->vector(g, cands[i].id, buf);
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

/* ---------------------------------------------------------------- disk graph */

/*
 * Pin (reusing the last pin when possible) and share-lock a block.
 * Only one buffer lock is ever held by these routines.
 */
static Page
vec_dg_lock(VecDiskGraph *dg, BlockNumber blkno)
{
	if (dg->blkno != blkno)
	{
		if (BufferIsValid(dg->buf))
			ReleaseBuffer(dg->buf);
		dg->buf = ReadBuffer(dg->index, blkno);
		dg->blkno = blkno;
	}
	LockBuffer(dg->buf, BUFFER_LOCK_SHARE);
	vec_counters.page_reads++;
	return BufferGetPage(dg->buf);
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
	nt = vec_page_item(page, ItemPointerGetOffsetNumber(&c->ntid));
	if (nt != NULL && nt->type == VEC_TUPLE_NEIGHBOR && nt->version == c->version &&
		lc <= nt->level)
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

static const float *
vec_dg_vector(VecGraph *g, uint64 id, float *dst)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	Page		page;
	VecElementTuple et;
	bool		ok = false;

	page = vec_dg_lock(dg, (BlockNumber) (id >> 16));
	et = vec_page_item(page, (OffsetNumber) (id & 0xFFFF));
	if (et != NULL && et->type == VEC_TUPLE_ELEMENT && et->state != VEC_ELEM_FREE &&
		et->dim == g->dim)
	{
		vec_load_vector(g->storage, et->data, dst, g->dim);
		ok = true;
	}
	LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
	return ok ? dst : NULL;
}

/*
 * Visit count neighbours: pin their pages first (one buffer lookup per
 * distinct page) and prefetch each page's header and line pointers, then
 * the start of each element tuple, and only then lock each page in turn
 * and compute the distance.  The buffer-table lookups stay serial, but the
 * cache misses on the pages' contents overlap instead of each stalling a
 * distance.  The line pointer is read without the buffer lock, only as a
 * prefetch address (kept inside the page); the locked pass re-reads
 * everything.
 */
static void
vec_dg_visit(VecGraph *g, const VecNbr *nbrs, int count, const float *q,
			 VecCand *out, bool *ok)
{
	VecDiskGraph *dg = (VecDiskGraph *) g;
	Buffer	   *bufs = dg->batchbufs;

	for (int i = 0; i < count; i++)
	{
		BlockNumber blk = (BlockNumber) (nbrs[i].id >> 16);
		int			j;

		bufs[i] = InvalidBuffer;
		for (j = 0; j < i; j++)
			if ((BlockNumber) (nbrs[j].id >> 16) == blk)
				break;
		if (j < i)
			bufs[i] = bufs[j];
		else if (blk == dg->blkno && BufferIsValid(dg->buf))
			bufs[i] = dg->buf;
		else
		{
			bufs[i] = ReadBuffer(dg->index, blk);
			__builtin_prefetch(BufferGetPage(bufs[i]));
		}
	}
	for (int i = 0; i < count; i++)
	{
		char	   *page = (char *) BufferGetPage(bufs[i]);
		ItemId		iid = PageGetItemId((Page) page, (OffsetNumber) (nbrs[i].id & 0xFFFF));
		unsigned	off = ItemIdGetOffset(iid);

		if (off >= SizeOfPageHeaderData && off < BLCKSZ - 256)
		{
			__builtin_prefetch(page + off);
			__builtin_prefetch(page + off + 64);
			__builtin_prefetch(page + off + 128);
			__builtin_prefetch(page + off + 192);
		}
	}
	for (int i = 0; i < count; i++)
	{
		Page		page;
		VecElementTuple et;

		LockBuffer(bufs[i], BUFFER_LOCK_SHARE);
		vec_counters.page_reads++;
		page = BufferGetPage(bufs[i]);
		et = vec_page_item(page, (OffsetNumber) (nbrs[i].id & 0xFFFF));
		ok[i] = false;
		if (vec_element_usable(et, nbrs[i].version, g->dim))
		{
			out[i].dist = vec_elem_distance(g->metric, g->storage, q, et->data, g->dim);
			vec_counters.exact_distances++;
			vec_cand_from_element(&out[i], et, nbrs[i].id);
			ok[i] = true;
		}
		LockBuffer(bufs[i], BUFFER_LOCK_UNLOCK);
	}
	/* drop the pins taken here (each page once) */
	for (int i = 0; i < count; i++)
	{
		int			j;

		if (bufs[i] == dg->buf)
			continue;
		for (j = 0; j < i; j++)
			if (bufs[j] == bufs[i])
				break;
		if (j == i)
			ReleaseBuffer(bufs[i]);
	}
}

static const VecGraphOps vec_disk_ops = {
	vec_dg_neighbors,
	vec_dg_visit,
	vec_dg_vector
};

void
vec_disk_graph_init(VecDiskGraph *dg, Relation index, VecIndexInfo *info, int dim)
{
	dg->g.ops = &vec_disk_ops;
	dg->g.metric = info->metric;
	dg->g.storage = info->storage;
	dg->g.dim = dim;
	dg->g.m = info->m;
	dg->index = index;
	dg->buf = InvalidBuffer;
	dg->blkno = InvalidBlockNumber;
	dg->code_bytes = info->code_bytes;
	dg->batchbufs = palloc(sizeof(Buffer) * 2 * info->m);
}

/* copy the code slot of element id (if its version matches) into dst */
bool
vec_disk_code(VecDiskGraph *dg, uint64 id, uint16 version, char *dst)
{
	Page		page;
	VecElementTuple et;
	bool		ok = false;

	page = vec_dg_lock(dg, (BlockNumber) (id >> 16));
	et = vec_page_item(page, (OffsetNumber) (id & 0xFFFF));
	if (et != NULL && et->type == VEC_TUPLE_ELEMENT && et->version == version &&
		et->codebytes == dg->code_bytes && dg->code_bytes > 0)
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

	if (meta->entry_level < 0 || !BlockNumberIsValid(meta->entry_blkno))
		return false;
	ItemPointerSet(&tid, meta->entry_blkno, meta->entry_offno);
	n.id = vec_tid_to_id(&tid);
	n.version = meta->entry_version;
	n.distance = 0;
	vec_dg_visit(&dg->g, &n, 1, q, out, &ok);
	return ok;
}

/* ---------------------------------------------------------------- RaBitQ walk */

typedef struct VecCodeCand
{
	uint64		id;
	uint16		version;
} VecCodeCand;

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
 * ef-th result.
 */
int
vec_search_layer0_codes(VecDiskGraph *dg, const float *q, const VecRqQuery *qq,
						VecCand *ep, int ef, VecCand *result, VecIdSet *visited)
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

	cpool = palloc(sizeof(VecCodeCand) * cpoolcap);
	rpool = palloc(sizeof(VecCand) * (ef + 1));
	vec_heap_init(&cands, cpoolcap, false);
	vec_heap_init(&res, ef + 1, true);

	vec_idset_add(visited, ep->id);
	cpool[0].id = ep->id;
	cpool[0].version = ep->version;
	ncpool = 1;
	vec_heap_push(&cands, ep->dist, 0);

	while (cands.n > 0)
	{
		VecHeapItem c = vec_heap_pop(&cands);
		VecCodeCand cc = cpool[c.idx];
		Page		page;
		VecElementTuple et;
		VecNeighborTuple nt;
		VecCand		e;
		BlockNumber nblk;

		if (res.n >= ef && c.dist > res.items[0].dist)
			break;
		CHECK_FOR_INTERRUPTS();

		/* the element: exact distance */
		page = vec_dg_lock(dg, (BlockNumber) (cc.id >> 16));
		et = vec_page_item(page, (OffsetNumber) (cc.id & 0xFFFF));
		if (!vec_element_usable(et, cc.version, g->dim))
		{
			LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
			continue;
		}
		e.dist = vec_elem_distance(g->metric, g->storage, q, et->data, g->dim);
		vec_counters.exact_distances++;
		vec_counters.expansions++;
		vec_cand_from_element(&e, et, cc.id);

		/* its neighbour tuple, usually on the same page */
		nblk = ItemPointerGetBlockNumber(&e.ntid);
		if (nblk != dg->blkno)
		{
			LockBuffer(dg->buf, BUFFER_LOCK_UNLOCK);
			page = vec_dg_lock(dg, nblk);
		}
		nt = vec_page_item(page, ItemPointerGetOffsetNumber(&e.ntid));

		/* the result list keeps the ef best exact distances */
		if (res.n < ef || e.dist < res.items[0].dist)
		{
			int			slot;

			if (res.n < ef)
				slot = nrpool++;
			else
				slot = vec_heap_pop(&res).idx;	/* reuse the evicted slot */
			rpool[slot] = e;
			vec_heap_push(&res, e.dist, slot);
		}

		if (nt != NULL && nt->type == VEC_TUPLE_NEIGHBOR && nt->version == e.version &&
			nt->codesize == dg->code_bytes && dg->code_bytes > 0)
		{
			int			cap = 2 * nt->m;

			for (int i = 0; i < cap; i++)
			{
				VecNeighborEntry *ne = &nt->entries[i];
				const char *slot;
				float		est,
							bound;
				uint64		id;

				if (!ItemPointerIsValid(&ne->tid))
					continue;
				id = vec_tid_to_id(&ne->tid);
				if (vec_idset_contains(visited, id))
					continue;
				slot = VecNeighborCode(nt, i);
				vec_counters.estimates++;
				est = vec_rq_estimate_dist(g->metric, qq,
										   (const uint64 *) (slot + sizeof(VecRqFactors)),
										   (const VecRqFactors *) slot, &bound);
				if (res.n >= ef && est - bound >= res.items[0].dist)
					continue;
				vec_idset_add(visited, id);
				if (ncpool == cpoolcap)
				{
					cpoolcap *= 2;
					cpool = repalloc(cpool, sizeof(VecCodeCand) * cpoolcap);
				}
				cpool[ncpool].id = id;
				cpool[ncpool].version = ne->version;
				vec_heap_push(&cands, est - bound * vechnsw_rabitq_slack, ncpool);
				ncpool++;
			}
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
