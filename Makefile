# vecidx: PostgreSQL extension (PGXS)
EXTENSION = vecidx
MODULE_big = vecidx
EXTVERSION = 0.3.0

OBJS = \
	src/vecidx.o \
	src/distance.o \
	src/hnswutils.o \
	src/hnswbuild.o \
	src/hnswinsert.o \
	src/hnswscan.o \
	src/hnswvacuum.o \
	src/hnswcost.o \
	src/hnswvalidate.o \
	src/hnswcheck.o \
	src/rabitq.o

DATA = sql/vecidx--0.1.0.sql sql/vecidx--0.1.0--0.2.0.sql sql/vecidx--0.2.0--0.3.0.sql
HEADERS = src/vecidx.h

# pg_regress tests: sql/NAME.sql -> expected/NAME.out
REGRESS = vector_ops input_errors vechnsw_basic vechnsw_recall vechnsw_maintenance vechnsw_rabitq vechnsw_storage vechnsw_parallel vechnsw_vacuum vechnsw_usability vechnsw_partition
REGRESS_OPTS = --inputdir=. --outputdir=$(or $(REGRESS_OUTDIR),.)

# isolation tests: test/isolation/specs/NAME.spec -> test/isolation/expected/NAME.out
ISOLATION = concurrent_insert_scan vacuum_lifecycle snapshot_update
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=$(or $(ISOLATION_OUTDIR),test/isolation)

# TAP tests (test/t/*.pl, helpers in test/perl): 'make installcheck' runs them
# with prove after the pg_regress and isolation tests, as PGXS does for
# TAP_TESTS = 1 (needs IPC::Run, i.e. libipc-run-perl, and a non-root user).
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# Flags: C99-style loops, vectorisation of the distance kernels, warnings.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers $(VECIDX_CFLAGS)
ifdef WERROR
PG_CFLAGS += -Werror
endif

# The benchmark tool (libpq client), built by 'make bench'; bench/vecbench.h
# says which file holds what.
BENCH = bench/vecbench
BENCH_SRCS = bench/vecbench.c bench/bench_util.c bench/bench_data.c bench/bench_db.c \
	bench/bench_report.c bench/bench_query.c bench/bench_write.c bench/bench_churn.c bench/bench_soak.c \
	bench/bench_smoke.c

EXTRA_CLEAN = $(BENCH) results regression.diffs regression.out tmp_check log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# (after the include: Makefile.global empties PROVE_FLAGS)
PROVE_FLAGS = -I test/perl

# every object depends on the one header (PGXS tracks no header dependencies)
$(OBJS): src/vecidx.h

# Distance kernels: let the compiler vectorise (-O3 on this file only, no -ffast-math
# so results are bit-identical between index and SQL operators).
src/distance.o src/rabitq.o: CFLAGS += -O3 -fno-math-errno

$(BENCH): $(BENCH_SRCS) bench/vecbench.h
	$(CC) -O2 -Wall -Wextra -std=gnu11 -I$(shell $(PG_CONFIG) --includedir) -o $@ $(BENCH_SRCS) -L$(shell $(PG_CONFIG) --libdir) -lpq -lm -lpthread

bench: $(BENCH)
.PHONY: bench
