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

#include <float.h>
#include <sys/mman.h>

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "vecidx.h"

/*
 * One element of the in-memory graph.  Its vector and its slots live in the
 * arena and are named by offsets from VecBuildState.base: in a serial build
 * base is NULL (the offsets are addresses), in a parallel build it is where
 * this process mapped the shared graph.
 */
typedef struct VecMemElement
{
	Size		vec;			/* the vector, stored as the index stores it
								 * (float4, or half precision with f16) */
	Size		adj;			/* int32 nbr[slots] (-1 = empty), then float
								 * ndist[slots]; slots laid out as on disk */
	uint8		level;
	uint8		ntids;			/* 0: unused slot (parallel build: the row
								 * joined an identical vector's element) */
	ItemPointerData heaptids[VECHNSW_HEAPTIDS];
	ItemPointerData etid;		/* placement, set when written */
	ItemPointerData ntid;
	LWLock		lock;			/* parallel build: guards slots and heaptids */
} VecMemElement;

/*
 * Shared state of a parallel build (in the DSM segment).  The graph itself
 * (element array, then arena) is a second chunk, VEC_KEY_GRAPH.
 */
typedef struct VecBuildShared
{
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	int			tranche;		/* LWLock tranche of the element locks */

	slock_t		mutex;			/* guards the two counters */
	double		reltuples;		/* heap tuples seen by the participants */
	double		indtuples;		/* vectors indexed */

	LWLock		entrylock;		/* guards entry, entry_level, dim */
	LWLock		toplock;		/* held by an insert above the entry level */
	int32		entry;			/* -1 while empty */
	int32		entry_level;
	int32		dim;			/* 0 until the first vector */

	pg_atomic_uint32 nelems;	/* element ids handed out */
	uint32		capelems;
	pg_atomic_uint64 arenaused;	/* bytes handed out after the elements */
	Size		graphsize;		/* bytes of the graph chunk */
	pg_atomic_uint32 overflow;	/* set when the chunk is full */
	/* ParallelTableScanDescData follows, BUFFERALIGNed */
} VecBuildShared;

#define VEC_KEY_SHARED			UINT64CONST(0xB1D0000000000001)
#define VEC_KEY_GRAPH			UINT64CONST(0xB1D0000000000002)
#define VEC_KEY_QUERY_TEXT		UINT64CONST(0xB1D0000000000003)

#define VecBuildSharedScan(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(VecBuildShared))))

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

	char	   *base;			/* NULL, or the shared graph's address */
	VecBuildShared *shared;		/* parallel build, else NULL */
	ParallelContext *pcxt;		/* leader of a parallel build */
	Snapshot	snapshot;

	VecMemElement *elems;
	int			nelems;
	int			capelems;
	int			entry;			/* -1 while empty */
	int			entry_level;
	Size		memlimit;
	char	   *arena;			/* bump allocator for vectors and edges */
	Size		arenafree;
	Size		arenablock;		/* next block: 1 MB doubling to 64 MB, at most
								 * an eighth of maintenance_work_mem */
	Size		arenablockmax;
	bool		ondisk;

	MemoryContext graphcxt;
	MemoryContext tmpcxt;
} VecBuildState;

/* the element's vector, in the index's storage (bs->g.storage) */
static inline void *
vec_mem_vec(const VecBuildState *bs, const VecMemElement *e)
{
	return (void *) ((uintptr_t) bs->base + e->vec);
}

/*
 * Distance from a float vector to an element, as the graph on disk computes
 * it (with f16 storage, vec_elem_distance's bound): a build in memory and
 * inserts on disk see the same distances.
 */
static inline float
vec_mem_distance(const VecBuildState *bs, const float *q, const VecMemElement *e)
{
	return vec_elem_distance(bs->g.metric, bs->g.storage, q, vec_mem_vec(bs, e), bs->dim);
}

/* the element's vector as floats: in place with f32, else converted to buf */
static inline const float *
vec_mem_floats(const VecBuildState *bs, const VecMemElement *e, float *buf)
{
	if (bs->g.storage == VEC_STORAGE_F32)
		return (const float *) vec_mem_vec(bs, e);
	vec_load_vector(bs->g.storage, vec_mem_vec(bs, e), buf, bs->dim);
	return buf;
}

static inline int32 *
vec_mem_nbr(const VecBuildState *bs, const VecMemElement *e)
{
	return (int32 *) ((uintptr_t) bs->base + e->adj);
}

static inline float *
vec_mem_ndist(const VecBuildState *bs, const VecMemElement *e)
{
	return (float *) (vec_mem_nbr(bs, e) + VEC_NEIGHBOR_SLOTS(e->level, bs->g.m));
}

/* element locks: only a parallel build has concurrent writers */
static inline void
vec_mem_lock(const VecBuildState *bs, VecMemElement *e, LWLockMode mode)
{
	if (bs->shared)
		LWLockAcquire(&e->lock, mode);
}

static inline void
vec_mem_unlock(const VecBuildState *bs, VecMemElement *e)
{
	if (bs->shared)
		LWLockRelease(&e->lock);
}

/*
 * Vectors and edge arrays are carved from blocks of 1 MB, doubling to 64 MB
 * (never above an eighth of maintenance_work_mem): no per-chunk header or
 * power-of-two rounding (a 784-d vector would otherwise take 4 kB), and
 * MemoryContextMemAllocated() of graphcxt is the graph's real footprint.
 */
#define VEC_ARENA_BLOCK		(1024 * 1024)
#define VEC_ARENA_BLOCK_MAX (64 * 1024 * 1024)

/*
 * Ask for transparent huge pages (2 MB) on the 2 MB-aligned part of a large
 * allocation of the serial build's graph.  The graph is read at random, and
 * with 4 kB pages a graph of GBs misses the TLB on nearly every element: a
 * 10M-element build ran about three times slower per element than with its
 * graph in huge pages (docs/SCALE.md).  Advice only: the kernel ignores it
 * when transparent huge pages are "never", and it is not needed with
 * "always".  A parallel build's graph lives in the DSM segment instead
 * (huge pages there come from huge_pages or /dev/shm's mount options).
 */
static void
vec_build_advise_huge(void *p, Size len)
{
#if defined(MADV_HUGEPAGE)
#define VEC_HUGE_PAGE	((uintptr_t) 2 * 1024 * 1024)
	uintptr_t	start = TYPEALIGN(VEC_HUGE_PAGE, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(VEC_HUGE_PAGE, (uintptr_t) p + len);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

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
		vec_build_advise_huge(bs->arena, blk);
		bs->arenablock = Min(bs->arenablock * 2, bs->arenablockmax);
	}
	p = bs->arena;
	bs->arena += size;
	bs->arenafree -= size;
	return p;
}

/*
 * Arena space for 'size' bytes as an offset from bs->base.  A parallel
 * build takes it from the shared chunk and returns false (and raises the
 * overflow flag) when the chunk is full.
 */
static bool
vec_build_alloc_off(VecBuildState *bs, Size size, Size *off)
{
	VecBuildShared *sh = bs->shared;
	Size		start,
				o;

	size = MAXALIGN(size);
	if (sh == NULL)
	{
		*off = (Size) (uintptr_t) vec_build_alloc(bs, size);
		return true;
	}
	start = MAXALIGN(sizeof(VecMemElement) * sh->capelems);
	o = (Size) pg_atomic_fetch_add_u64(&sh->arenaused, size);
	if (start + o + size > sh->graphsize)
	{
		pg_atomic_write_u32(&sh->overflow, 1);
		return false;
	}
	*off = start + o;
	return true;
}

/* ---------------------------------------------------------------- graph ops */

static int
vec_mem_neighbors(VecGraph *g, const VecCand *c, int lc, VecNbr *out)
{
	VecBuildState *bs = (VecBuildState *) g;
	VecMemElement *e = &bs->elems[c->id];
	int32	   *nbr;
	float	   *ndist;
	int			start,
				cap,
				n = 0;

	if (lc > e->level)
		return 0;
	nbr = vec_mem_nbr(bs, e);
	ndist = vec_mem_ndist(bs, e);
	start = VEC_LEVEL_START(lc, g->m);
	cap = VEC_LEVEL_CAP(lc, g->m);
	vec_mem_lock(bs, e, LW_SHARED);
	for (int i = 0; i < cap; i++)
	{
		if (nbr[start + i] < 0)
			continue;
		out[n].id = nbr[start + i];
		out[n].version = 0;
		out[n].distance = ndist[start + i];
		n++;
	}
	vec_mem_unlock(bs, e);
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


static const float *
vec_mem_vector(VecGraph *g, uint64 id, uint16 version, float *buf)
{
	VecBuildState *bs = (VecBuildState *) g;

	return vec_mem_floats(bs, &bs->elems[id], buf);
}

/* prefetch the elements, then their vectors, then compute the distances */
static void
vec_mem_visit(VecGraph *g, const VecNbr *nbrs, int count, const float *q,
			  VecCand *out, bool *ok)
{
	VecBuildState *bs = (VecBuildState *) g;
	Size		vbytes = VEC_VECTOR_BYTES(bs->dim, bs->g.storage);

	for (int i = 0; i < count; i++)
		__builtin_prefetch(&bs->elems[nbrs[i].id]);
	for (int i = 0; i < count; i++)
	{
		const char *v = (const char *) vec_mem_vec(bs, &bs->elems[nbrs[i].id]);

		__builtin_prefetch(v);
		__builtin_prefetch(v + 64);
		__builtin_prefetch(v + 128);
		__builtin_prefetch(v + 192);
	}
	for (int i = 0; i < count; i++)
	{
		uint64		id = nbrs[i].id;

		/* the rest of the vector two neighbours ahead */
		if (i + 2 < count)
		{
			const char *v = (const char *) vec_mem_vec(bs, &bs->elems[nbrs[i + 2].id]);

			for (Size off = 256; off < vbytes; off += 64)
				__builtin_prefetch(v + off);
		}
		vec_mem_cand(bs, id, vec_mem_distance(bs, q, &bs->elems[id]), &out[i]);
		ok[i] = true;
	}
}

/*
 * Apply edit to the list of element base->id on level lc (the shared
 * vec_list_merge), holding that element's lock (parallel build)
 * throughout; the heuristic reads only vectors, which never change, so no
 * other element lock is taken.
 */
static bool
vec_mem_update_list(VecGraph *g, const VecCand *base, int lc, VecListEdit *edit)
{
	VecBuildState *bs = (VecBuildState *) g;
	VecMemElement *e = &bs->elems[base->id];
	int32	   *nbr = vec_mem_nbr(bs, e);
	float	   *ndist = vec_mem_ndist(bs, e);
	int			start = VEC_LEVEL_START(lc, g->m);
	int			cap = VEC_LEVEL_CAP(lc, g->m);
	VecNbr		cur[2 * VECHNSW_MAX_M];
	VecNbr		out[2 * VECHNSW_MAX_M];
	int			ncur = 0,
				nout;
	bool		changed;

	if (lc > e->level)
		return false;
	vec_mem_lock(bs, e, LW_EXCLUSIVE);
	for (int i = 0; i < cap; i++)
	{
		if (nbr[start + i] < 0)
			continue;
		cur[ncur].id = nbr[start + i];
		cur[ncur].version = 0;
		cur[ncur].distance = ndist[start + i];
		ncur++;
	}
	nout = vec_list_merge(g, base->id, cur, ncur, cap, edit, out, &changed);
	if (changed)
	{
		for (int i = 0; i < cap; i++)
		{
			nbr[start + i] = i < nout ? (int32) out[i].id : -1;
			ndist[start + i] = i < nout ? out[i].distance : 0;
		}
	}
	vec_mem_unlock(bs, e);
	return changed;
}

/*
 * Identical vector with room for another heap TID: the row shares element
 * c.  Only level-0 inserts ask (see vec_mem_insert).
 */
static bool
vec_mem_add_heaptid(VecGraph *g, const VecCand *c, const float *vec, ItemPointer heaptid)
{
	VecBuildState *bs = (VecBuildState *) g;
	VecMemElement *d = &bs->elems[c->id];
	Size		vbytes = VEC_VECTOR_BYTES(bs->dim, bs->g.storage);
	const void *stored = vec;
	bool		shared = false;

	/* identical as stored, as on disk (vec_dg_add_heaptid) */
	if (bs->g.storage != VEC_STORAGE_F32)
	{
		void	   *tmp = palloc(vbytes);

		vec_store_vector(bs->g.storage, vec, tmp, bs->dim);
		stored = tmp;
	}
	vec_mem_lock(bs, d, LW_EXCLUSIVE);
	if (d->ntids > 0 && d->ntids < VECHNSW_HEAPTIDS &&
		memcmp(vec_mem_vec(bs, d), stored, vbytes) == 0)
	{
		d->heaptids[d->ntids++] = *heaptid;
		shared = true;
	}
	vec_mem_unlock(bs, d);
	return shared;
}

static const VecGraphOps vec_mem_ops = {
	vec_mem_neighbors,
	vec_mem_visit,
	vec_mem_vector,
	vec_mem_update_list,
	vec_mem_add_heaptid
};

/* ---------------------------------------------------------------- insert */

/*
 * The graph's entry point and its level.  If the graph is empty, element id
 * (already filled in) becomes the entry point and *entry is -1.  A parallel
 * build does both under the entry lock, so two participants cannot both
 * find the graph empty and leave one of their elements without edges.
 */
static void
vec_mem_get_entry(VecBuildState *bs, int id, int level, int *entry, int *entry_level)
{
	VecBuildShared *sh = bs->shared;

	if (sh == NULL)
	{
		*entry = bs->entry;
		*entry_level = bs->entry_level;
		if (bs->entry < 0)
		{
			bs->entry = id;
			bs->entry_level = level;
		}
		return;
	}
	LWLockAcquire(&sh->entrylock, LW_SHARED);
	*entry = sh->entry;
	*entry_level = sh->entry_level;
	LWLockRelease(&sh->entrylock);
	if (*entry >= 0)
		return;
	LWLockAcquire(&sh->entrylock, LW_EXCLUSIVE);
	*entry = sh->entry;
	*entry_level = sh->entry_level;
	if (sh->entry < 0)
	{
		sh->entry = id;
		sh->entry_level = level;
	}
	LWLockRelease(&sh->entrylock);
}

/* make id the entry point if the graph is empty or it is above the entry */
static void
vec_mem_offer_entry(VecBuildState *bs, int id, int level)
{
	VecBuildShared *sh = bs->shared;

	if (sh == NULL)
	{
		if (bs->entry < 0 || level > bs->entry_level)
		{
			bs->entry = id;
			bs->entry_level = level;
		}
		return;
	}
	LWLockAcquire(&sh->entrylock, LW_EXCLUSIVE);
	if (sh->entry < 0 || level > sh->entry_level)
	{
		sh->entry = id;
		sh->entry_level = level;
	}
	LWLockRelease(&sh->entrylock);
}

/*
 * Insert vec into the in-memory graph.  Returns false if a parallel build's
 * shared graph is full (nothing was linked; the leader redoes the build
 * serially).
 */
static bool
vec_mem_insert(VecBuildState *bs, float *vec, ItemPointer heaptid)
{
	VecIndexInfo *info = bs->info;
	int			m = info->m;
	int			ef = info->ef_construction;
	int			level = vec_random_level(&bs->prng, m, bs->max_level);
	int			slots = VEC_NEIGHBOR_SLOTS(level, m);
	int			id;
	int			entry,
				entry_level;
	VecMemElement *e;
	int32	   *nbr;
	Size		voff,
				aoff;
	VecCand    *ep = palloc(sizeof(VecCand) * Max(ef, 1));
	VecCand    *sels[VECHNSW_MAX_LEVEL + 1];
	int			nsels[VECHNSW_MAX_LEVEL + 1] = {0};
	bool		toplocked = false;
	float	   *scratch = palloc(sizeof(float) * bs->dim * (2 * m + 1));

	/*
	 * The element's id: the next index (counted only at the end, serial), or
	 * one handed out by the shared counter.  It is filled in before any edge
	 * points at it, and nothing reaches it on a level before its back-links
	 * on that level are added.
	 */
	if (bs->shared == NULL)
	{
		if (bs->nelems == bs->capelems)
		{
			/*
			 * A new array, advised before it is touched, rather than
			 * repalloc: realloc moves a large array with mremap, and the
			 * pages it moves stay 4 kB pages, so half of the array would.
			 * The memory check counted both arrays.
			 */
			Size		newsize = sizeof(VecMemElement) * bs->capelems * 2;
			VecMemElement *elems = MemoryContextAllocHuge(bs->graphcxt, newsize);

			vec_build_advise_huge(elems, newsize);
			memcpy(elems, bs->elems, sizeof(VecMemElement) * bs->capelems);
			pfree(bs->elems);
			bs->elems = elems;
			bs->capelems *= 2;
		}
		id = bs->nelems;
	}
	else
	{
		id = (int) pg_atomic_fetch_add_u32(&bs->shared->nelems, 1);
		if ((uint32) id >= bs->shared->capelems)
		{
			pg_atomic_write_u32(&bs->shared->overflow, 1);
			return false;
		}
	}
	e = &bs->elems[id];
	e->ntids = 0;				/* unused until filled */
	if (!vec_build_alloc_off(bs, VEC_VECTOR_BYTES(bs->dim, bs->g.storage), &voff) ||
		!vec_build_alloc_off(bs, (sizeof(int32) + sizeof(float)) * slots, &aoff))
		return false;
	e->vec = voff;
	e->adj = aoff;
	e->level = level;
	if (bs->shared)
		LWLockInitialize(&e->lock, bs->shared->tranche);
	vec_store_vector(bs->g.storage, vec, vec_mem_vec(bs, e), bs->dim);
	nbr = vec_mem_nbr(bs, e);
	for (int i = 0; i < slots; i++)
		nbr[i] = -1;
	e->heaptids[0] = *heaptid;
	ItemPointerSetInvalid(&e->etid);
	ItemPointerSetInvalid(&e->ntid);
	e->ntids = 1;

	vec_mem_get_entry(bs, id, level, &entry, &entry_level);

	/*
	 * An element above the entry point will become the entry point: in a
	 * parallel build such inserts run one at a time (the top lock), or two
	 * of them could each link only the other's lower levels and split the
	 * upper ones.  Rare: about one insert in m per level.
	 */
	if (bs->shared && entry >= 0 && level > entry_level)
	{
		LWLockAcquire(&bs->shared->toplock, LW_EXCLUSIVE);
		toplocked = true;
		vec_mem_get_entry(bs, id, level, &entry, &entry_level);
	}

	/*
	 * Search every level first (top down), link afterwards (bottom up): a
	 * parallel participant that reaches the element on a level therefore
	 * finds its lists on all lower levels already filled, instead of
	 * descending onto an element with no edges yet.  Serially this gives the
	 * same graph as linking level by level (a level's search never sees the
	 * new element, and pruning is per level).  An identical vector is shared
	 * only by level-0 elements.
	 */
	if (entry >= 0)
	{
		VecCand		self;

		vec_mem_cand(bs, entry, vec_mem_distance(bs, vec, &bs->elems[entry]), &ep[0]);
		if (!vec_find_neighbors(&bs->g, vec, ep, entry_level, level, ef, level == 0, heaptid,
								sels, nsels, scratch))
		{
			/* the arena space (and a parallel build's id) is wasted; rare */
			e->ntids = 0;
			if (toplocked)
				LWLockRelease(&bs->shared->toplock);
			return true;
		}
		vec_mem_cand(bs, id, 0, &self);
		vec_link_neighbors(&bs->g, &self, Min(level, entry_level), sels, nsels, true, NULL,
						   scratch);
	}

	if (bs->shared == NULL)
		bs->nelems++;
	vec_mem_offer_entry(bs, id, level);
	if (toplocked)
		LWLockRelease(&bs->shared->toplock);
	return true;
}

/* ---------------------------------------------------------------- reachability */

/*
 * Elements the build left unreachable from the entry point.  The heuristic
 * can leave an element with no in-edge: every list it was offered to kept
 * nearer, better spread neighbours, and later inserts can prune the last
 * edge that led to it (most often with a small m or clustered data; about
 * one element in 4,000 with m = 4 on random 8-d data).  No scan could
 * return its rows.  A breadth-first walk from the entry point over every
 * level's lists finds such elements; each gets what VACUUM's step 5 gives
 * it (docs/DELETE_LIFECYCLE.md): a level-0 search from the entry point,
 * back-links from the neighbours the heuristic picks among what it found,
 * an edge forced into the nearest such list if none took it (in place of
 * an edge to an element that another list also leads to), and its own list
 * from what it found.  A forced edge can cut another element's only path,
 * so the walk repeats until it finds none, at most VEC_BUILD_REACH_PASSES
 * times (each walk finds far fewer: 231, 10, 2, 0 on fashion-mnist).  It
 * runs in the leader once a parallel build's workers are done, before the
 * pages are written (also when the graph stops fitting in memory, for the
 * part built so far): O(elements * m) per walk plus one insert's search per
 * element found, and 9 bytes per element of memory besides
 * maintenance_work_mem's graph.
 */
#define VEC_BUILD_REACH_PASSES	16

/* a forced edge may replace an edge to an element others also lead to */
static bool
vec_build_can_evict(void *arg, uint64 id)
{
	int32	   *indeg = (int32 *) arg;

	if (indeg[id] < 2)
		return false;
	indeg[id]--;
	return true;
}

static int
vec_build_reach_pass(VecBuildState *bs, bool *seen, int32 *queue, int32 *indeg,
					 MemoryContext cxt)
{
	VecGraph   *g = &bs->g;
	int			m = g->m;
	int			cap0 = VEC_LEVEL_CAP(0, m);
	int			ef = Max(bs->info->ef_construction, cap0);
	int			head = 0,
				tail = 0,
				found = 0;
	VecNbr		nbrs[2 * VECHNSW_MAX_M];

	memset(seen, 0, sizeof(bool) * bs->nelems);
	memset(indeg, 0, sizeof(int32) * bs->nelems);
	seen[bs->entry] = true;
	queue[tail++] = bs->entry;
	while (head < tail)
	{
		VecCand		c;

		if ((head & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		vec_mem_cand(bs, queue[head++], 0, &c);
		for (int lc = 0; lc <= c.level; lc++)
		{
			int			n = vec_mem_neighbors(g, &c, lc, nbrs);

			for (int i = 0; i < n; i++)
			{
				uint64		t = nbrs[i].id;

				indeg[t]++;
				if (!seen[t])
				{
					seen[t] = true;
					queue[tail++] = (int32) t;
				}
			}
		}
	}

	for (int id = 0; id < bs->nelems; id++)
	{
		MemoryContext oldcxt;
		VecCand		self,
					ep;
		VecCand    *res,
				   *sel;
		VecIdSet	visited;
		const float *v;
		float	   *buf,
				   *scratch;
		int			n,
					k = 0,
					nsel;
		VecListEdit edit;

		/* (ntids 0: a slot a parallel build handed out and never used) */
		if (seen[id] || bs->elems[id].ntids == 0)
			continue;
		CHECK_FOR_INTERRUPTS();
		found++;
		oldcxt = MemoryContextSwitchTo(cxt);
		buf = palloc(sizeof(float) * bs->dim);
		scratch = palloc(sizeof(float) * bs->dim * (2 * m + 1));
		res = palloc(sizeof(VecCand) * ef);
		sel = palloc(sizeof(VecCand) * cap0);
		v = vec_mem_floats(bs, &bs->elems[id], buf);

		vec_mem_cand(bs, bs->entry, vec_mem_distance(bs, v, &bs->elems[bs->entry]), &ep);
		vec_greedy_descend(g, v, &ep, bs->entry_level, 0);
		vec_idset_init(&visited, ef * m);
		n = vec_search_layer(g, v, &ep, 1, ef, 0, res, &visited);
		for (int i = 0; i < n; i++)
			if (res[i].id != (uint64) id)
				res[k++] = res[i];
		vec_mem_cand(bs, id, 0, &self);

		/* back-links from the lists the heuristic would link it from */
		nsel = vec_select_neighbors(g, res, k, cap0, sel, scratch);
		(void) vec_link_in_edges(g, &self, sel, nsel, 0, true, true, vec_build_can_evict, indeg,
								 scratch);

		/* and its own list gets the nearest of what was found */
		if (k > 0)
		{
			memset(&edit, 0, offsetof(VecListEdit, added));
			edit.add = res;
			edit.nadd = Min(k, cap0);
			edit.scratch = scratch;
			(void) vec_mem_update_list(g, &self, 0, &edit);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(cxt);
	}
	return found;
}

static void
vec_build_link_unreachable(VecBuildState *bs)
{
	MemoryContext cxt;
	bool	   *seen;
	int32	   *queue,
			   *indeg;
	int			first = 0,
				last = 0,
				pass;

	if (bs->entry < 0 || bs->nelems < 2)
		return;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw build reachability",
								ALLOCSET_DEFAULT_SIZES);
	seen = palloc_extended(sizeof(bool) * bs->nelems, MCXT_ALLOC_HUGE);
	queue = palloc_extended(sizeof(int32) * bs->nelems, MCXT_ALLOC_HUGE);
	indeg = palloc_extended(sizeof(int32) * bs->nelems, MCXT_ALLOC_HUGE);
	for (pass = 0; pass < VEC_BUILD_REACH_PASSES; pass++)
	{
		int			found = vec_build_reach_pass(bs, seen, queue, indeg, cxt);

		elog(DEBUG2, "vechnsw build reachability walk %d: %d unreachable", pass + 1, found);
		last = found;
		if (pass == 0)
			first = found;
		if (found == 0)
			break;
	}
	if (pass == VEC_BUILD_REACH_PASSES)
		ereport(LOG,
				(errmsg("vechnsw build of index \"%s\": elements may still be unreachable from the entry point after %d walks",
						RelationGetRelationName(bs->index), VEC_BUILD_REACH_PASSES),
				 errdetail("The first walk found %d, the last %d.", first, last),
				 errhint("vechnsw_index_stats() counts them; a VACUUM that frees elements links them.")));
	else if (first > 0)
		ereport(DEBUG1,
				(errmsg_internal("vechnsw build of index \"%s\": %d elements were unreachable from the entry point and were linked (%d walks)",
								 RelationGetRelationName(bs->index), first, pass + 1)));
	pfree(seen);
	pfree(queue);
	pfree(indeg);
	MemoryContextDelete(cxt);
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
		double		count = 0;
		float	   *vbuf = palloc(sizeof(float) * bs->dim);

		centroid = palloc0(sizeof(float) * bs->dim);
		for (int i = 0; i < bs->nelems; i++)
		{
			const float *v;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (bs->elems[i].ntids == 0)
				continue;
			v = vec_mem_floats(bs, &bs->elems[i], vbuf);
			for (int d = 0; d < bs->dim; d++)
				sum[d] += v[d];
			count++;
		}
		for (int d = 0; d < bs->dim && count > 0; d++)
			centroid[d] = (float) (sum[d] / count);

		vec_read_meta(index, &meta);
		vec_rq_init(&rq, bs->dim, meta.rabitq_seed, centroid);
		scratch = palloc(sizeof(float) * rq.pdim);
		codes = palloc_extended((Size) bs->nelems * cb + 1, MCXT_ALLOC_HUGE);
		for (int i = 0; i < bs->nelems; i++)
		{
			char	   *slot = codes + (Size) i * cb;

			if (bs->elems[i].ntids == 0)
				continue;
			vec_rq_encode(&rq, vec_mem_floats(bs, &bs->elems[i], vbuf),
						  (uint64 *) (slot + sizeof(VecRqFactors)),
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

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (e->ntids == 0)
			continue;			/* unused slot */

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
		VecNeighborTuple ntup;
		ItemPointerData *where[2] = {&e->etid, &e->ntid};
		const int32 *nbr = vec_mem_nbr(bs, e);
		const float *ndist = vec_mem_ndist(bs, e);

		if (e->ntids == 0)
			continue;
		ntup = palloc0(nsz);

		etup->type = VEC_TUPLE_ELEMENT;
		etup->state = VEC_ELEM_LIVE;
		etup->level = e->level;
		etup->ntids = e->ntids;
		etup->version = 0;
		etup->dim = bs->dim;
		memcpy(etup->heaptids, e->heaptids, sizeof(ItemPointerData) * e->ntids);
		etup->neighbortid = e->ntid;
		etup->codebytes = cb;
		memcpy(etup->data, vec_mem_vec(bs, e), VEC_VECTOR_BYTES(bs->dim, bs->g.storage));
		if (cb > 0)
			memcpy(VecElementCode(etup, bs->info->storage), codes + (Size) i * cb, cb);

		ntup->type = VEC_TUPLE_NEIGHBOR;
		ntup->level = e->level;
		ntup->version = 0;
		ntup->m = m;
		ntup->codesize = cb;
		for (int s = 0; s < 2 * m && cb > 0; s++)
		{
			if (nbr[s] >= 0)
				memcpy(VecNeighborCode(ntup, s), codes + (Size) nbr[s] * cb, cb);
		}
		for (int s = 0; s < VEC_NEIGHBOR_SLOTS(e->level, m); s++)
		{
			if (nbr[s] >= 0)
			{
				ntup->entries[s].tid = bs->elems[nbr[s]].etid;
				ntup->entries[s].distance = ndist[s];
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

			vec_meta_set_entry(meta, &e->etid, e->level, 0);
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
	vec_build_link_unreachable(bs);
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
	VecRowContext rc;
	ErrorContextCallback errcb;

	/* NULL vectors are not indexed */
	if (isnull[0])
		return;

	oldcxt = MemoryContextSwitchTo(bs->tmpcxt);
	rc.tid = tid;
	rc.index = bs->index;
	errcb.callback = vec_row_errcontext;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	vec = vec_datum_to_vector(values[0], bs->info->metric, &dim);
	if (bs->dim == 0 && bs->shared)
	{
		/* the first vector of all participants fixes the dimensions */
		LWLockAcquire(&bs->shared->entrylock, LW_EXCLUSIVE);
		if (bs->shared->dim == 0)
			bs->shared->dim = dim;
		bs->dim = bs->shared->dim;
		LWLockRelease(&bs->shared->entrylock);
		bs->g.dim = bs->dim;
		bs->code_bytes = vec_code_bytes(bs->info->bits, bs->dim, bs->info->m);
		vec_check_tuple_sizes(bs->index, bs->dim, bs->info->storage, bs->code_bytes, bs->info->m);
		bs->max_level = vec_max_level(bs->info->m, bs->code_bytes);
	}
	if (bs->dim == 0)
	{
		bs->dim = bs->g.dim = dim;
		bs->code_bytes = vec_code_bytes(bs->info->bits, dim, bs->info->m);
		vec_check_tuple_sizes(bs->index, dim, bs->info->storage, bs->code_bytes, bs->info->m);
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
		if (!bs->ondisk && bs->shared == NULL)
		{
			Size		esize = MAXALIGN(VEC_VECTOR_BYTES(dim, bs->g.storage)) +
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
		else if (bs->shared && pg_atomic_read_u32(&bs->shared->overflow) != 0)
			;					/* the build will be redone serially */
		else
			(void) vec_mem_insert(bs, vec, tid);
		bs->indtuples++;
	}
	error_context_stack = errcb.previous;
	bs->reltuples++;
	if (((int64) bs->reltuples & 255) == 0 && !IsParallelWorker())
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) bs->reltuples);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(bs->tmpcxt);
}

/* ---------------------------------------------------------------- parallel */

/* fill the parts of a VecBuildState every participant needs */
static void
vec_build_state_init(VecBuildState *bs, Relation heap, Relation index, uint64 seed)
{
	MemSet(bs, 0, sizeof(*bs));
	bs->heap = heap;
	bs->index = index;
	bs->info = vec_index_info(index);
	bs->g.ops = &vec_mem_ops;
	bs->g.metric = vec_link_metric(bs->info->metric);
	/* vectors kept as the index stores them: f16 halves the graph's memory */
	bs->g.storage = bs->info->storage;
	bs->g.m = bs->info->m;
	bs->g.dim = 0;
	bs->entry = -1;
	bs->entry_level = -1;
	pg_prng_seed(&bs->prng, seed);
	bs->memlimit = (Size) maintenance_work_mem * 1024;
	bs->graphcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs->tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "vechnsw build tuple",
									   ALLOCSET_DEFAULT_SIZES);
	bs->arenablockmax = Max(Min(VEC_ARENA_BLOCK_MAX, bs->memlimit / 8), 1);
	bs->arenablock = Min(VEC_ARENA_BLOCK, bs->arenablockmax);
}

/*
 * The LWLock tranche of parallel builds: one id per cluster, kept in a few
 * bytes of shared memory (allocating a new id for every build would exhaust
 * the 16-bit tranche numbers of a long-running server).
 */
static int
vec_build_tranche(void)
{
	int		   *id;
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	id = ShmemInitStruct("vechnsw build LWLock tranche", sizeof(int), &found);
	if (!found)
		*id = LWLockNewTrancheId();
	LWLockRelease(AddinShmemInitLock);
	return *id;
}

/* attach bs to the shared graph */
static void
vec_build_attach(VecBuildState *bs, VecBuildShared *sh, char *graph)
{
	bs->shared = sh;
	bs->base = graph;
	bs->elems = (VecMemElement *) graph;
	LWLockRegisterTranche(sh->tranche, "vechnsw_build");
}

/* scan this participant's share of the heap into the shared graph */
static void
vec_build_participate(VecBuildState *bs, IndexInfo *indexInfo, bool progress)
{
	VecBuildShared *sh = bs->shared;
	TableScanDesc scan;
	double		reltuples;

	scan = table_beginscan_parallel(bs->heap, VecBuildSharedScan(sh));
	reltuples = table_index_build_scan(bs->heap, bs->index, indexInfo, true, progress,
									   vec_build_callback, bs, scan);
	SpinLockAcquire(&sh->mutex);
	sh->reltuples += reltuples;
	sh->indtuples += bs->indtuples;
	SpinLockRelease(&sh->mutex);
}

/*
 * Bytes the graph's vectors will take, estimated before any row is read.
 * When the column's values are stored uncompressed (STORAGE PLAIN or
 * EXTERNAL, as docs recommend for vectors) and ANALYZE has measured their
 * average width, that width less the array header, halved with f16: at
 * 10M x 512 the heap takes 27 GB but the f16 vectors 10 GB.  Otherwise
 * (compressed values, no statistics, an expression) twice the heap and
 * TOAST size, which a compressed column can need.  Too low an estimate is
 * caught at run time: participants that fill the graph stop, and the
 * leader builds serially.
 */
static double
vec_build_vector_bytes(VecBuildState *bs, double tuples, Size heapbytes)
{
	Relation	heap = bs->heap;
	AttrNumber	attnum = bs->index->rd_index->indkey.values[0];
	Form_pg_attribute att;
	int32		width;

	if (attnum <= 0 || attnum > RelationGetDescr(heap)->natts)
		return 2.0 * heapbytes;
	att = TupleDescAttr(RelationGetDescr(heap), attnum - 1);
	if (att->attstorage != TYPSTORAGE_PLAIN && att->attstorage != TYPSTORAGE_EXTERNAL)
		return 2.0 * heapbytes;
	width = get_attavgwidth(RelationGetRelid(heap), attnum);
	if (width <= (int32) ARR_OVERHEAD_NONULLS(1))
		return 2.0 * heapbytes;
	return tuples * (width - ARR_OVERHEAD_NONULLS(1)) *
		(bs->info->storage == VEC_STORAGE_F16 ? 0.5 : 1.0);
}

/*
 * Set up the shared graph and launch nworkers workers.  Returns false (and
 * leaves no parallel state behind) if no worker could be started.
 *
 * The shared graph takes what maintenance_work_mem allows, less when the
 * heap is small: twice the heap (and TOAST) size for the vectors, plus the
 * element array sized from the table's row estimate.  If the participants
 * still fill it, they stop adding to it and the leader builds serially.
 */
static bool
vec_build_begin_parallel(VecBuildState *bs, bool isconcurrent, int nworkers)
{
	Relation	heap = bs->heap;
	ParallelContext *pcxt;
	VecBuildShared *sh;
	Size		shsize,
				graphsize,
				heapbytes;
	double		vecbytes;
	BlockNumber pages;
	double		tuples,
				allvisfrac;
	uint32		capelems;
	char	   *graph;

	/* how many rows, and how many bytes of vectors, to expect */
	estimate_rel_size(heap, NULL, &pages, &tuples, &allvisfrac);
	heapbytes = (Size) RelationGetNumberOfBlocks(heap) * BLCKSZ;
	if (OidIsValid(heap->rd_rel->reltoastrelid))
	{
		Relation	toast = table_open(heap->rd_rel->reltoastrelid, AccessShareLock);

		heapbytes += (Size) RelationGetNumberOfBlocks(toast) * BLCKSZ;
		table_close(toast, AccessShareLock);
	}
	vecbytes = vec_build_vector_bytes(bs, tuples, heapbytes);

	/*
	 * A graph that cannot fit into maintenance_work_mem even by this rough
	 * lower bound (half the vector estimate, the level-0 slots and the
	 * element array) would only overflow: build serially, which goes on disk
	 * when memory runs out.
	 */
	if (vecbytes / 2 + tuples * (sizeof(VecMemElement) + 2 * bs->info->m * 8) >
		(double) bs->memlimit)
		return false;

	capelems = (uint32) Min(tuples * 1.2 + 1024, (double) (bs->memlimit / 4) / sizeof(VecMemElement));
	capelems = Min(capelems, (uint32) INT_MAX / 2);
	graphsize = MAXALIGN(sizeof(VecMemElement) * capelems) +
		(Size) Min(vecbytes * 1.25, (double) bs->memlimit) +
		(Size) capelems * 2 * bs->info->m * 8 * 2 + 16 * 1024 * 1024;
	graphsize = Min(graphsize, bs->memlimit);
	if (graphsize < MAXALIGN(sizeof(VecMemElement) * capelems) + 1024 * 1024)
		return false;

	EnterParallelMode();
	pcxt = CreateParallelContext("vecidx", "vechnsw_parallel_build_main", nworkers);

	bs->snapshot = isconcurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	shsize = BUFFERALIGN(sizeof(VecBuildShared)) + table_parallelscan_estimate(heap, bs->snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, shsize);
	shm_toc_estimate_chunk(&pcxt->estimator, graphsize);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	if (debug_query_string)
	{
		shm_toc_estimate_chunk(&pcxt->estimator, strlen(debug_query_string) + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no DSM: serial build */
		if (IsMVCCSnapshot(bs->snapshot))
			UnregisterSnapshot(bs->snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	sh = (VecBuildShared *) shm_toc_allocate(pcxt->toc, shsize);
	sh->heaprelid = RelationGetRelid(heap);
	sh->indexrelid = RelationGetRelid(bs->index);
	sh->isconcurrent = isconcurrent;
	sh->tranche = vec_build_tranche();
	SpinLockInit(&sh->mutex);
	sh->reltuples = 0;
	sh->indtuples = 0;
	LWLockInitialize(&sh->entrylock, sh->tranche);
	LWLockInitialize(&sh->toplock, sh->tranche);
	sh->entry = -1;
	sh->entry_level = -1;
	sh->dim = 0;
	pg_atomic_init_u32(&sh->nelems, 0);
	sh->capelems = capelems;
	pg_atomic_init_u64(&sh->arenaused, 0);
	sh->graphsize = graphsize;
	pg_atomic_init_u32(&sh->overflow, 0);
	table_parallelscan_initialize(heap, VecBuildSharedScan(sh), bs->snapshot);
	shm_toc_insert(pcxt->toc, VEC_KEY_SHARED, sh);

	graph = shm_toc_allocate(pcxt->toc, graphsize);
	shm_toc_insert(pcxt->toc, VEC_KEY_GRAPH, graph);

	if (debug_query_string)
	{
		char	   *q = shm_toc_allocate(pcxt->toc, strlen(debug_query_string) + 1);

		memcpy(q, debug_query_string, strlen(debug_query_string) + 1);
		shm_toc_insert(pcxt->toc, VEC_KEY_QUERY_TEXT, q);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		WaitForParallelWorkersToFinish(pcxt);
		if (IsMVCCSnapshot(bs->snapshot))
			UnregisterSnapshot(bs->snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}
	bs->pcxt = pcxt;
	vec_build_attach(bs, sh, graph);
	WaitForParallelWorkersToAttach(pcxt);
	ereport(DEBUG1,
			(errmsg_internal("vechnsw: building index \"%s\" with %d parallel workers",
							 RelationGetRelationName(bs->index), pcxt->nworkers_launched)));
	return true;
}

static void
vec_build_end_parallel(VecBuildState *bs)
{
	WaitForParallelWorkersToFinish(bs->pcxt);
	if (IsMVCCSnapshot(bs->snapshot))
		UnregisterSnapshot(bs->snapshot);
	DestroyParallelContext(bs->pcxt);
	ExitParallelMode();
	bs->pcxt = NULL;
	bs->shared = NULL;
	bs->base = NULL;
	bs->elems = NULL;
}

/* entry point of a parallel build worker (CreateParallelContext) */
PGDLLEXPORT void vechnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc);

void
vechnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
	VecBuildShared *sh;
	char	   *graph;
	LOCKMODE	heaplock,
				indexlock;
	Relation	heap,
				index;
	IndexInfo  *indexInfo;
	VecBuildState bs;

	debug_query_string = shm_toc_lookup(toc, VEC_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);
	sh = shm_toc_lookup(toc, VEC_KEY_SHARED, false);
	graph = shm_toc_lookup(toc, VEC_KEY_GRAPH, false);

	/* the lock modes index.c already holds for the leader */
	heaplock = sh->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	indexlock = sh->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	heap = table_open(sh->heaprelid, heaplock);
	index = index_open(sh->indexrelid, indexlock);
	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = sh->isconcurrent;

	/* each participant draws levels from its own seeded stream */
	vec_build_state_init(&bs, heap, index, VEC_BUILD_SEED + ParallelWorkerNumber + 1);
	vec_build_attach(&bs, sh, graph);
	vec_build_participate(&bs, indexInfo, false);

	index_close(index, indexlock);
	table_close(heap, heaplock);
}

/* ---------------------------------------------------------------- build */

IndexBuildResult *
vechnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	VecBuildState bs;
	IndexBuildResult *result;
	double		reltuples = 0;
	Buffer		buf;
	int			nworkers = 0;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

	vec_build_state_init(&bs, heap, index, VEC_BUILD_SEED);

	/* the meta page; logged with the rest by vec_build_flush */
	buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buf) == VECHNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	vec_write_empty_meta(BufferGetPage(buf), bs.info);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, VEC_PHASE_LOAD);

	/*
	 * Parallel build: as many workers as the planner would give a btree
	 * build of this table (max_parallel_maintenance_workers, table size,
	 * maintenance_work_mem), all inserting into one graph in shared memory.
	 */
	if (IsNormalProcessingMode() && !IsParallelWorker())
		nworkers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (nworkers > 0 && vec_build_begin_parallel(&bs, indexInfo->ii_Concurrent, nworkers))
	{
		VecBuildShared *sh = bs.shared;

		vec_build_participate(&bs, indexInfo, true);
		WaitForParallelWorkersToFinish(bs.pcxt);

		if (pg_atomic_read_u32(&sh->overflow) == 0)
		{
			reltuples = sh->reltuples;
			bs.indtuples = sh->indtuples;
			bs.nelems = (int) pg_atomic_read_u32(&sh->nelems);
			bs.entry = sh->entry;
			bs.entry_level = sh->entry_level;
			bs.dim = bs.g.dim = sh->dim;
			bs.code_bytes = vec_code_bytes(bs.info->bits, bs.dim, bs.info->m);
			vec_build_link_unreachable(&bs);
			vec_build_flush(&bs);
			vec_build_end_parallel(&bs);
			goto done;
		}

		/* the estimate was short: build again, serially */
		ereport(DEBUG1,
				(errmsg_internal("vechnsw: parallel build of index \"%s\" ran out of shared memory, building serially",
								 RelationGetRelationName(index))));
		ereport(DEBUG2,
				(errmsg_internal("vechnsw: %u of %u elements, %zu of %zu bytes",
								 pg_atomic_read_u32(&sh->nelems), sh->capelems,
								 (Size) pg_atomic_read_u64(&sh->arenaused), sh->graphsize)));
		vec_build_end_parallel(&bs);
		MemoryContextDelete(bs.graphcxt);
		MemoryContextDelete(bs.tmpcxt);
		vec_build_state_init(&bs, heap, index, VEC_BUILD_SEED);
	}

	bs.capelems = 256;
	bs.elems = MemoryContextAllocHuge(bs.graphcxt, sizeof(VecMemElement) * bs.capelems);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   vec_build_callback, &bs, NULL);
	if (!bs.ondisk)
	{
		vec_build_link_unreachable(&bs);
		vec_build_flush(&bs);
	}

done:
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
