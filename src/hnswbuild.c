/*-------------------------------------------------------------------------
 *
 * hnswbuild.c
 *	  CREATE INDEX: build the graph in memory, then write it out page by
 *	  page; ambuildempty for unlogged indexes.
 *
 * The heap is scanned once.  Each vector is inserted into an in-memory
 * HNSW graph (the same search code as on disk, through VecGraphOps).  When
 * the graph would exceed maintenance_work_mem, what is built so far is
 * written to pages and the remaining vectors are inserted on disk through
 * the ordinary insert path, with a NOTICE.  Pages written by the build are
 * WAL-logged in bulk with log_newpage_range(); on-disk inserts are logged
 * one change at a time with GenericXLog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

typedef struct VecMemElement
{
	float	   *vec;
	int32	   *nbr;			/* slots laid out as on disk; -1 = empty */
	float	   *ndist;
	uint8		level;
	uint8		ntids;
	ItemPointerData heaptids[VECHNSW_HEAPTIDS];
	ItemPointerData etid;		/* placement, set when written */
	ItemPointerData ntid;
} VecMemElement;

typedef struct VecBuildState
{
	VecGraph	g;				/* must be first */
	Relation	heap;
	Relation	index;
	VecIndexInfo *info;
	int			dim;
	int			code_bytes;		/* code slot size, once dim is known */
	int			max_level;
	pg_prng_state prng;			/* levels: seeded, so builds repeat */
	double		reltuples;
	double		indtuples;

	VecMemElement *elems;
	int			nelems;
	int			capelems;
	int			entry;			/* -1 while empty */
	int			entry_level;
	Size		memlimit;
	char	   *arena;			/* bump allocator for vectors and edges */
	Size		arenafree;
	Size		arenablock;		/* 1 MB, less when maintenance_work_mem is tiny */
	bool		ondisk;

	MemoryContext graphcxt;
	MemoryContext tmpcxt;
} VecBuildState;

/*
 * Vectors and edge arrays are carved from 1 MB blocks: no per-chunk header
 * or power-of-two rounding (a 784-d vector would otherwise take 4 kB), and
 * MemoryContextMemAllocated() of graphcxt is the graph's real footprint.
 */
#define VEC_ARENA_BLOCK (1024 * 1024)

static void *
vec_build_alloc(VecBuildState *bs, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > bs->arenafree)
	{
		Size		blk = Max(size, bs->arenablock);

		bs->arena = MemoryContextAlloc(bs->graphcxt, blk);
		bs->arenafree = blk;
	}
	p = bs->arena;
	bs->arena += size;
	bs->arenafree -= size;
	return p;
}

/* ---------------------------------------------------------------- graph ops */

static int
vec_mem_neighbors(VecGraph *g, const VecCand *c, int lc, VecNbr *out)
{
	VecBuildState *bs = (VecBuildState *) g;
	VecMemElement *e = &bs->elems[c->id];
	int			start,
				cap,
				n = 0;

	if (lc > e->level)
		return 0;
	start = VEC_LEVEL_START(lc, g->m);
	cap = VEC_LEVEL_CAP(lc, g->m);
	for (int i = 0; i < cap; i++)
	{
		if (e->nbr[start + i] < 0)
			continue;
		out[n].id = e->nbr[start + i];
		out[n].version = 0;
		out[n].distance = e->ndist[start + i];
		n++;
	}
	return n;
}

static inline void
vec_mem_cand(VecBuildState *bs, uint64 id, float dist, VecCand *out)
{
	VecMemElement *e = &bs->elems[id];

	out->id = id;
	out->dist = dist;
	out->level = e->level;
	out->state = VEC_ELEM_LIVE;
	out->ntids = e->ntids;
	out->version = 0;
}

static bool
vec_mem_visit(VecGraph *g, const VecNbr *n, const float *q, VecCand *out)
{
	VecBuildState *bs = (VecBuildState *) g;

	vec_mem_cand(bs, n->id, vec_distance(g->metric, q, bs->elems[n->id].vec, g->dim), out);
	return true;
}

static const float *
vec_mem_vector(VecGraph *g, uint64 id, float *buf)
{
	return ((VecBuildState *) g)->elems[id].vec;
}

/* prefetch the elements, then their vectors, then compute the distances */
static void
vec_mem_visit_batch(VecGraph *g, const VecNbr *nbrs, int count, const float *q,
					VecCand *out, bool *ok)
{
	VecBuildState *bs = (VecBuildState *) g;

	for (int i = 0; i < count; i++)
		__builtin_prefetch(&bs->elems[nbrs[i].id]);
	for (int i = 0; i < count; i++)
	{
		const char *v = (const char *) bs->elems[nbrs[i].id].vec;

		__builtin_prefetch(v);
		__builtin_prefetch(v + 64);
		__builtin_prefetch(v + 128);
		__builtin_prefetch(v + 192);
	}
	for (int i = 0; i < count; i++)
		ok[i] = vec_mem_visit(g, &nbrs[i], q, &out[i]);
}

static const VecGraphOps vec_mem_ops = {
	vec_mem_neighbors,
	vec_mem_visit,
	vec_mem_vector,
	vec_mem_visit_batch
};

/* ---------------------------------------------------------------- insert */

/* add edge from -> to at level lc, pruning a full list with the heuristic */
static void
vec_mem_link(VecBuildState *bs, int from, int to, float dist, int lc, VecCand *cands,
			 VecCand *sel, float *scratch)
{
	VecMemElement *e = &bs->elems[from];
	int			m = bs->g.m;
	int			start = VEC_LEVEL_START(lc, m);
	int			cap = VEC_LEVEL_CAP(lc, m);
	int			nc = 0;
	int			nsel;
	float		maxdist = -1;

	for (int i = 0; i < cap; i++)
	{
		if (e->nbr[start + i] < 0)
		{
			e->nbr[start + i] = to;
			e->ndist[start + i] = dist;
			return;
		}
		maxdist = Max(maxdist, e->ndist[start + i]);
	}
	if (dist >= maxdist)
		return;

	for (int i = 0; i < cap; i++)
	{
		cands[nc].id = e->nbr[start + i];
		cands[nc].dist = e->ndist[start + i];
		nc++;
	}
	cands[nc].id = to;
	cands[nc].dist = dist;
	nc++;
	vec_sort_cands(cands, nc);
	nsel = vec_select_neighbors(&bs->g, cands, nc, cap, sel, scratch);
	for (int i = 0; i < cap; i++)
	{
		e->nbr[start + i] = i < nsel ? (int32) sel[i].id : -1;
		e->ndist[start + i] = i < nsel ? sel[i].dist : 0;
	}
}

static void
vec_mem_insert(VecBuildState *bs, float *vec, ItemPointer heaptid)
{
	VecIndexInfo *info = bs->info;
	int			m = info->m;
	int			ef = info->ef_construction;
	int			level = vec_random_level(&bs->prng, m, bs->max_level);
	int			slots = VEC_NEIGHBOR_SLOTS(level, m);
	int			id;
	VecMemElement *e;
	VecCand    *res = palloc(sizeof(VecCand) * Max(ef, 1));
	VecCand    *ep = palloc(sizeof(VecCand) * Max(ef, 1));
	VecCand    *sel = palloc(sizeof(VecCand) * 2 * m);
	VecCand    *sel2 = palloc(sizeof(VecCand) * 2 * m);
	VecCand    *cands = palloc(sizeof(VecCand) * (2 * m + 1));
	float	   *scratch = palloc(sizeof(float) * bs->dim * (2 * m + 1));
	int			nep = 0;

	if (bs->entry >= 0)
	{
		vec_mem_cand(bs, bs->entry,
					 vec_distance(bs->g.metric, vec, bs->elems[bs->entry].vec, bs->dim), &ep[0]);
		nep = 1;
		if (bs->entry_level > level)
			vec_greedy_descend(&bs->g, vec, &ep[0], bs->entry_level, level);
	}

	if (bs->nelems == bs->capelems)
	{
		bs->capelems *= 2;
		bs->elems = repalloc_huge(bs->elems, sizeof(VecMemElement) * bs->capelems);
	}

	/*
	 * The element gets id nelems.  It is filled in before any edge points at
	 * it, but counted (nelems++) only at the end.  Nothing reaches it on a
	 * level before its back-links on that level are added.
	 */
	id = bs->nelems;
	e = &bs->elems[id];
	e->vec = vec_build_alloc(bs, sizeof(float) * bs->dim);
	e->nbr = vec_build_alloc(bs, sizeof(int32) * slots);
	e->ndist = vec_build_alloc(bs, sizeof(float) * slots);
	memcpy(e->vec, vec, sizeof(float) * bs->dim);
	for (int i = 0; i < slots; i++)
		e->nbr[i] = -1;
	e->level = level;
	e->ntids = 1;
	e->heaptids[0] = *heaptid;
	ItemPointerSetInvalid(&e->etid);
	ItemPointerSetInvalid(&e->ntid);

	for (int lc = Min(level, bs->entry_level); lc >= 0 && nep > 0; lc--)
	{
		VecIdSet	visited;
		int			n,
					nsel;

		vec_idset_init(&visited, ef * m);
		n = vec_search_layer(&bs->g, vec, ep, nep, ef, lc, res, &visited);

		/*
		 * Identical vector with room for another heap TID: share it.  Only
		 * for level-0 elements, which have no edges yet at this point.
		 */
		if (lc == 0 && level == 0)
		{
			for (int i = 0; i < n && res[i].dist <= 0; i++)
			{
				VecMemElement *d = &bs->elems[res[i].id];

				if (d->ntids < VECHNSW_HEAPTIDS &&
					memcmp(d->vec, vec, sizeof(float) * bs->dim) == 0)
				{
					d->heaptids[d->ntids++] = *heaptid;
					return;		/* the arena space is wasted; rare */
				}
			}
		}

		nsel = vec_select_neighbors(&bs->g, res, n, VEC_LEVEL_CAP(lc, m), sel, scratch);
		for (int i = 0; i < nsel; i++)
		{
			e->nbr[VEC_LEVEL_START(lc, m) + i] = (int32) sel[i].id;
			e->ndist[VEC_LEVEL_START(lc, m) + i] = sel[i].dist;
		}
		for (int i = 0; i < nsel; i++)
			vec_mem_link(bs, (int) sel[i].id, id, sel[i].dist, lc, cands, sel2, scratch);

		memcpy(ep, res, sizeof(VecCand) * n);
		nep = n;
	}

	bs->nelems++;

	if (bs->entry < 0 || level > bs->entry_level)
	{
		bs->entry = id;
		bs->entry_level = level;
	}
}

/* ---------------------------------------------------------------- write */

/* append the page image as block 'blkno' of the index (not WAL-logged) */
static void
vec_build_write_page(Relation index, Page page, BlockNumber blkno)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

	if (BufferGetBlockNumber(buf) != blkno)
		elog(ERROR, "unexpected block %u while writing vechnsw index, expected %u",
			 BufferGetBlockNumber(buf), blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), page, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/*
 * Write the in-memory graph to pages.  Pass 1 assigns every tuple its
 * (block, offset) by simulating PageAddItem; pass 2 fills the pages, so
 * every edge can name its target's final location.
 */
static void
vec_build_flush(VecBuildState *bs)
{
	Relation	index = bs->index;
	int			m = bs->info->m;
	int			cb = bs->code_bytes;
	Size		esz = VEC_ELEMENT_TUPLE_SIZE(bs->dim, bs->info->storage, cb);
	char	   *codes = NULL;
	float	   *centroid = NULL;
	BlockNumber blk = VECHNSW_METAPAGE_BLKNO + 1;
	Size		freespace = VEC_PAGE_USABLE;
	OffsetNumber off = 0;
	PGAlignedBlock pagebuf;
	Page		page = (Page) pagebuf.data;
	VecElementTuple etup;
	BlockNumber lastblk = InvalidBlockNumber;

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VEC_PHASE_WRITE);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, bs->nelems);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, 0);

	/* RaBitQ: centroid of the vectors, then every element's code */
	if (cb > 0)
	{
		double	   *sum = palloc0(sizeof(double) * bs->dim);
		VecRabitq	rq;
		float	   *scratch;
		VecMetaPageData meta;

		centroid = palloc0(sizeof(float) * bs->dim);
		for (int i = 0; i < bs->nelems; i++)
			for (int d = 0; d < bs->dim; d++)
				sum[d] += bs->elems[i].vec[d];
		for (int d = 0; d < bs->dim && bs->nelems > 0; d++)
			centroid[d] = (float) (sum[d] / bs->nelems);

		vec_read_meta(index, &meta);
		vec_rq_init(&rq, bs->dim, meta.rabitq_seed, centroid);
		scratch = palloc(sizeof(float) * rq.pdim);
		codes = palloc_extended((Size) bs->nelems * cb + 1, MCXT_ALLOC_HUGE);
		for (int i = 0; i < bs->nelems; i++)
		{
			char	   *slot = codes + (Size) i * cb;

			vec_rq_encode(&rq, bs->elems[i].vec, (uint64 *) (slot + sizeof(VecRqFactors)),
						  (VecRqFactors *) slot, scratch);
			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}

	/* pass 1: placement */
	for (int i = 0; i < bs->nelems; i++)
	{
		VecMemElement *e = &bs->elems[i];
		Size		nsz = VEC_NEIGHBOR_TUPLE_SIZE(e->level, m, cb);
		Size		eneed = MAXALIGN(esz) + sizeof(ItemIdData);
		Size		nneed = MAXALIGN(nsz) + sizeof(ItemIdData);

		/* keep the pair on one page when it fits on an empty one */
		if ((eneed + nneed <= VEC_PAGE_USABLE && eneed + nneed > freespace) ||
			eneed > freespace)
		{
			blk++;
			freespace = VEC_PAGE_USABLE;
			off = 0;
		}
		ItemPointerSet(&e->etid, blk, ++off);
		freespace -= eneed;
		if (nneed > freespace)
		{
			blk++;
			freespace = VEC_PAGE_USABLE;
			off = 0;
		}
		ItemPointerSet(&e->ntid, blk, ++off);
		freespace -= nneed;
	}

	/* pass 2: fill and write the pages in block order */
	etup = palloc0(esz);
	vec_init_page(page, VEC_PAGE_ELEMENT);
	blk = VECHNSW_METAPAGE_BLKNO + 1;
	for (int i = 0; i < bs->nelems; i++)
	{
		VecMemElement *e = &bs->elems[i];
		Size		nsz = VEC_NEIGHBOR_TUPLE_SIZE(e->level, m, cb);
		VecNeighborTuple ntup = palloc0(nsz);
		ItemPointerData *where[2] = {&e->etid, &e->ntid};

		etup->type = VEC_TUPLE_ELEMENT;
		etup->state = VEC_ELEM_LIVE;
		etup->level = e->level;
		etup->ntids = e->ntids;
		etup->version = 0;
		etup->dim = bs->dim;
		memcpy(etup->heaptids, e->heaptids, sizeof(ItemPointerData) * e->ntids);
		etup->neighbortid = e->ntid;
		etup->codebytes = cb;
		vec_store_vector(bs->info->storage, e->vec, etup->data, bs->dim);
		if (cb > 0)
			memcpy(VecElementCode(etup, bs->info->storage), codes + (Size) i * cb, cb);

		ntup->type = VEC_TUPLE_NEIGHBOR;
		ntup->level = e->level;
		ntup->version = 0;
		ntup->m = m;
		ntup->codesize = cb;
		for (int s = 0; s < 2 * m && cb > 0; s++)
		{
			if (e->nbr[s] >= 0)
				memcpy(VecNeighborCode(ntup, s), codes + (Size) e->nbr[s] * cb, cb);
		}
		for (int s = 0; s < VEC_NEIGHBOR_SLOTS(e->level, m); s++)
		{
			if (e->nbr[s] >= 0)
			{
				ntup->entries[s].tid = bs->elems[e->nbr[s]].etid;
				ntup->entries[s].distance = e->ndist[s];
			}
			else
				ItemPointerSetInvalid(&ntup->entries[s].tid);
			ntup->entries[s].version = 0;
		}

		for (int k = 0; k < 2; k++)
		{
			Item		item = k == 0 ? (Item) etup : (Item) ntup;
			Size		sz = k == 0 ? esz : nsz;

			while (ItemPointerGetBlockNumber(where[k]) != blk)
			{
				vec_build_write_page(index, page, blk);
				lastblk = blk;
				blk++;
				vec_init_page(page, VEC_PAGE_ELEMENT);
			}
			if (PageAddItem(page, item, sz, InvalidOffsetNumber, false, false) !=
				ItemPointerGetOffsetNumber(where[k]))
				elog(ERROR, "vechnsw build: tuple placement mismatch at block %u", blk);
		}
		pfree(ntup);

		if ((i & 1023) == 0)
		{
			CHECK_FOR_INTERRUPTS();
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, i);
		}
	}
	if (bs->nelems > 0)
	{
		vec_build_write_page(index, page, blk);
		lastblk = blk;
	}
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, bs->nelems);

	/* meta page: entry point, dimensions, insert page */
	{
		Buffer		buf = ReadBuffer(index, VECHNSW_METAPAGE_BLKNO);
		VecMetaPage meta;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		vec_meta_set_dimensions(BufferGetPage(buf), bs->dim, cb, centroid);
		meta = VecPageGetMeta(BufferGetPage(buf));
		if (bs->entry >= 0)
		{
			VecMemElement *e = &bs->elems[bs->entry];

			meta->entry_blkno = ItemPointerGetBlockNumber(&e->etid);
			meta->entry_offno = ItemPointerGetOffsetNumber(&e->etid);
			meta->entry_level = e->level;
			meta->entry_version = 0;
		}
		meta->insert_page = lastblk;
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}

	/* WAL-log everything written so far in bulk */
	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
}

/* ---------------------------------------------------------------- build */

/* the graph is full: write it out and insert the rest on disk */
static void
vec_build_go_on_disk(VecBuildState *bs)
{
	ereport(NOTICE,
			(errmsg("vechnsw graph no longer fits into maintenance_work_mem after %d elements",
					bs->nelems),
			 errdetail("The rest of the rows are inserted into the index on disk, which is slower."),
			 errhint("Increase maintenance_work_mem to speed up builds.")));
	vec_build_flush(bs);
	MemoryContextReset(bs->graphcxt);
	bs->elems = NULL;
	bs->arena = NULL;
	bs->arenafree = 0;
	bs->ondisk = true;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VEC_PHASE_ON_DISK);
}

static void
vec_build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				   bool tupleIsAlive, void *state)
{
	VecBuildState *bs = (VecBuildState *) state;
	MemoryContext oldcxt;
	float	   *vec;
	int			dim;

	/* NULL vectors are not indexed */
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(bs->tmpcxt);

	vec = vec_datum_to_vector(values[0], bs->info->metric, &dim);
	if (bs->dim == 0)
	{
		bs->dim = bs->g.dim = dim;
		bs->code_bytes = vec_code_bytes(bs->info->bits, dim, bs->info->m);
		bs->max_level = vec_max_level(bs->info->m, bs->code_bytes);
	}
	else if (dim != bs->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", bs->dim, dim),
				 errdetail("Heap row (%u,%u) has %d dimensions, earlier rows %d.",
						   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
						   dim, bs->dim)));

	if (vec != NULL)
	{
		/* out-of-range values fail now, not when the graph is written */
		vec_check_storage(bs->info->storage, vec, dim);

		/* room for one more element, and for doubling the element array */
		if (!bs->ondisk)
		{
			Size		esize = MAXALIGN(sizeof(float) * dim) +
				2 * MAXALIGN(8 * bs->info->m * sizeof(float));
			Size		need = 0;

			if (esize > bs->arenafree)
				need += Max(esize, bs->arenablock);
			if (bs->nelems == bs->capelems)
				need += sizeof(VecMemElement) * bs->capelems * 2;
			/* the codes computed when the graph is written count too */
			need += (Size) (bs->nelems + 1) * bs->code_bytes;
			if (MemoryContextMemAllocated(bs->graphcxt, true) + need > bs->memlimit)
				vec_build_go_on_disk(bs);
		}

		if (bs->ondisk)
			vec_insert_on_disk(index, bs->info, vec, dim, tid, &bs->prng);
		else
			vec_mem_insert(bs, vec, tid);
		bs->indtuples++;
	}
	bs->reltuples++;
	if (((int64) bs->reltuples & 255) == 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->reltuples);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(bs->tmpcxt);
}

IndexBuildResult *
vechnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	VecBuildState bs;
	IndexBuildResult *result;
	double		reltuples;
	Buffer		buf;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	MemSet(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	bs.info = vec_index_info(index);
	bs.g.ops = &vec_mem_ops;
	bs.g.metric = bs.info->metric;
	bs.g.storage = VEC_STORAGE_F32;	/* the in-memory graph keeps floats */
	bs.g.m = bs.info->m;
	bs.g.dim = 0;
	bs.entry = -1;
	pg_prng_seed(&bs.prng, VEC_BUILD_SEED);
	bs.entry_level = -1;
	bs.memlimit = (Size) maintenance_work_mem * 1024;
	bs.graphcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw build graph",
										ALLOCSET_DEFAULT_SIZES);
	bs.tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw build tuple",
									  ALLOCSET_DEFAULT_SIZES);
	bs.arenablock = Min(VEC_ARENA_BLOCK, bs.memlimit / 8);
	bs.capelems = 256;
	bs.elems = MemoryContextAllocHuge(bs.graphcxt, sizeof(VecMemElement) * bs.capelems);

	/* the meta page; logged with the rest by vec_build_flush */
	buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	vec_write_empty_meta(BufferGetPage(buf), bs.info);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VEC_PHASE_LOAD);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   vec_build_callback, &bs, NULL);

	if (!bs.ondisk)
		vec_build_flush(&bs);

	MemoryContextDelete(bs.graphcxt);
	MemoryContextDelete(bs.tmpcxt);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

void
vechnswbuildempty(Relation index)
{
	VecIndexInfo *info = vec_index_info(index);
	Buffer		buf;

	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	START_CRIT_SECTION();
	vec_write_empty_meta(BufferGetPage(buf), info);
	MarkBufferDirty(buf);
	log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
	UnlockReleaseBuffer(buf);
}
