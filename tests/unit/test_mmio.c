// SPDX-License-Identifier: Apache-2.0
/*
 * test_mmio.c - the virtio-mmio transport's registers and device-status
 * state machine, driven like a (sometimes misbehaving) driver would, over a
 * dummy device and fake guest memory.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "virtio/mmio.h"

#define RAM_SIZE (1 << 20)

struct fixture {
	struct virtio_mmio t;
	struct guest_mem gm;
	void *ram;
	int activated, resets;
	uint8_t config[8];
};

/* wr/rd, irqs and driver_negotiate on this fixture (unit_virtio.h) */
#define UNIT_FX      struct fixture
#define UNIT_MMIO(f) (&(f)->t)
#include "unit_virtio.h"

static int dummy_activate(struct virtio_mmio *t)
{
	((struct fixture *)t->dev)->activated++;
	return 0;
}

static void dummy_reset(struct virtio_mmio *t)
{
	((struct fixture *)t->dev)->resets++;
}

static void dummy_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, unsigned int size)
{
	memcpy(data, ((struct fixture *)t->dev)->config + off, size);
}

static const struct virtio_dev_ops dummy_ops = {
	.device_id = 2, .num_queues = 2, .queue_max = 256, .config_len = 8,
	.config_read = dummy_config_read, .activate = dummy_activate, .reset = dummy_reset,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->ram = calloc(1, RAM_SIZE);
	gm_init_fake(&f->gm, f->ram, RAM_SIZE);
	memcpy(f->config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(virtio_mmio_init(&f->t, "test", &dummy_ops, f,
					  1ULL << VIRTIO_RING_F_EVENT_IDX, &f->gm), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_mmio_destroy(&f->t);
	free(f->ram);
	free(f);
	return 0;
}

/* Driver steps up to FEATURES_OK with the given feature words. */
static void negotiate(struct fixture *f, uint32_t lo, uint32_t hi)
{
	driver_negotiate(f, (uint64_t)hi << 32 | lo);
}

/* Queue 0 with 8 entries at valid addresses. */
static void setup_queue(struct fixture *f, uint64_t desc)
{
	wr(f, 0x030, 0);
	wr(f, 0x038, 8);
	wr(f, 0x080, (uint32_t)desc);
	wr(f, 0x084, (uint32_t)(desc >> 32));
	wr(f, 0x090, 0x2000);
	wr(f, 0x0a0, 0x3000);
	wr(f, 0x044, 1);
}

static void test_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0x000), 0x74726976);
	assert_int_equal(rd(f, 0x004), 2);
	assert_int_equal(rd(f, 0x008), 2);
	wr(f, 0x014, 1);
	assert_int_equal(rd(f, 0x010), 1);                      /* VERSION_1 = bit 32 */
	wr(f, 0x014, 0);
	assert_int_equal(rd(f, 0x010), 1U << VIRTIO_RING_F_EVENT_IDX);
	wr(f, 0x014, 7);
	assert_int_equal(rd(f, 0x010), 0);
	wr(f, 0x030, 0);
	assert_int_equal(rd(f, 0x034), 256);
	wr(f, 0x030, 5);                                        /* no such queue */
	assert_int_equal(rd(f, 0x034), 0);
}

static void test_negotiation_ok(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1U << VIRTIO_RING_F_EVENT_IDX, 1);
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	assert_true(virtio_mmio_has_feature(&f->t, VIRTIO_RING_F_EVENT_IDX));
	assert_true(virtio_mmio_has_feature(&f->t, VIRTIO_F_VERSION_1));
	/* Frozen now. */
	wr(f, 0x024, 0);
	wr(f, 0x020, 0);
	assert_true(virtio_mmio_has_feature(&f->t, VIRTIO_RING_F_EVENT_IDX));
}

static void test_negotiation_refused(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 0, 0);                                     /* legacy driver: no VERSION_1 */
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	wr(f, 0x070, 0);
	negotiate(f, 1U << 5, 1);                               /* a feature never offered */
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK does nothing. */
	wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(f, 0x070) & VIRTIO_STATUS_DRIVER_OK, 0);
	assert_int_equal(f->activated, 0);
}

static void test_status_order(void **state)
{
	struct fixture *f = *state;
	uint64_t before = f->t.ignored_writes;

	wr(f, 0x070, VIRTIO_STATUS_DRIVER);                     /* DRIVER before ACKNOWLEDGE */
	assert_int_equal(rd(f, 0x070), 0);
	wr(f, 0x020, 0xffffffff);                               /* features before DRIVER */
	assert_int_equal(f->t.driver_features, 0);
	wr(f, 0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, 0x070, 0x80 | VIRTIO_STATUS_ACKNOWLEDGE);         /* FAILED sticks */
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_FAILED);
	assert_true(f->t.ignored_writes >= before + 2);
}

static void test_driver_ok_activates(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 0, 1);
	setup_queue(f, 0x1000);
	wr(f, 0x070, 0xf);
	assert_int_equal(rd(f, 0x070), 0xf);
	assert_int_equal(f->activated, 1);
	assert_true(f->t.queues[0].ready);
	/* Queue configuration is frozen after DRIVER_OK. */
	wr(f, 0x038, 4);
	wr(f, 0x080, 0x5000);
	assert_int_equal(f->t.queues[0].size, 8);
	assert_int_equal(f->t.queues[0].desc_gpa, 0x1000);
	/* Reset clears everything. */
	wr(f, 0x070, 0);
	assert_int_equal(rd(f, 0x070), 0);
	assert_int_equal(f->resets, 1);
	assert_false(f->t.queues[0].ready);
	assert_int_equal(f->t.driver_features, 0);
}

static void test_driver_ok_bad_queue_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 0, 1);
	setup_queue(f, (uint64_t)RAM_SIZE * 4);                 /* descriptors outside RAM */
	irqs(f);
	wr(f, 0x070, 0xf);
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_true(rd(f, 0x060) & VIRTIO_INT_CONFIG);
	assert_true(irqs(f) >= 1);
	assert_int_equal(f->activated, 0);
	wr(f, 0x064, VIRTIO_INT_CONFIG);                        /* ack */
	assert_int_equal(rd(f, 0x060), 0);
}

static void test_queue_num_rules(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x030, 1);
	wr(f, 0x038, 3);                                        /* not a power of two */
	assert_int_equal(f->t.queues[1].size, 0);
	wr(f, 0x038, 512);                                      /* above QueueNumMax */
	assert_int_equal(f->t.queues[1].size, 0);
	wr(f, 0x038, 0);
	assert_int_equal(f->t.queues[1].size, 0);
	wr(f, 0x038, 64);
	assert_int_equal(f->t.queues[1].size, 64);
	wr(f, 0x030, 9);                                        /* no queue 9: ignored */
	wr(f, 0x038, 64);
	assert_int_equal(rd(f, 0x044), 0);
}

static void test_config_space_and_access_sizes(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];

	memset(b, 0xee, sizeof(b));
	virtio_mmio_ops.read(&f->t, 0x100 + 6, b, 2);
	assert_int_equal(b[0], 7);
	assert_int_equal(b[1], 8);
	memset(b, 0xee, sizeof(b));
	virtio_mmio_ops.read(&f->t, 0x100 + 6, b, 4);           /* runs past the config: zeros */
	assert_int_equal(b[0], 0);
	virtio_mmio_ops.read(&f->t, 0x001, b, 4);               /* misaligned register */
	assert_int_equal(b[0], 0);
	virtio_mmio_ops.read(&f->t, 0x000, b, 2);               /* 16-bit register access */
	assert_int_equal(b[0], 0);
	b[0] = 1;
	virtio_mmio_ops.write(&f->t, 0x070, b, 1);              /* 8-bit status write: ignored */
	assert_int_equal(rd(f, 0x070), 0);
}

static void test_needs_reset_only_when_live(void **state)
{
	struct fixture *f = *state;

	virtio_mmio_needs_reset(&f->t, "test");
	assert_int_equal(rd(f, 0x070), 0);
	negotiate(f, 0, 1);
	wr(f, 0x070, 0xf);
	virtio_mmio_needs_reset(&f->t, "test");
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* A driver echoing the status back does not clear the device's bit. */
	wr(f, 0x070, 0xf);
	assert_true(rd(f, 0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void test_cmdline(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(virtio_mmio_cmdline(buf, sizeof(buf), 0xc0001000, 5), 34);
	assert_string_equal(buf, "virtio_mmio.device=4K@0xc0001000:5");
	assert_int_equal(virtio_mmio_cmdline(buf, 10, 0xc0001000, 5), -ENOSPC);
}

/* A live transport saved and put into a fresh one of the same device: the
 * registers the driver reads and the queues come back started, without
 * the driver doing anything; refused for another device type, a feature
 * the driver took that the new device lacks, a queue larger than the
 * device's maximum or rings outside RAM. */
static void test_save_restore(void **state)
{
	struct fixture *f = *state;
	struct virtio_mmio_state st, bad;
	struct virtio_mmio t2;
	char err[200] = "";

	negotiate(f, 1u << VIRTIO_RING_F_EVENT_IDX, 1);
	setup_queue(f, 0x1000);
	wr(f, 0x070, 0xf);
	f->t.interrupt_status = VIRTIO_INT_USED;
	assert_int_equal(virtio_mmio_save(&f->t, &st), 0);
	assert_null(virtio_mmio_state_error(&st, err, sizeof(err)));
	assert_int_equal(virtio_mmio_init(&t2, "restored", &dummy_ops, f,
					  1ULL << VIRTIO_RING_F_EVENT_IDX, &f->gm), 0);
	assert_int_equal(virtio_mmio_restore(&t2, &st, err, sizeof(err)), 0);
	assert_int_equal(t2.status, 0xf);
	assert_int_equal(t2.interrupt_status, VIRTIO_INT_USED);
	assert_true(t2.queues[0].ready);
	assert_true(t2.queues[0].event_idx);
	assert_int_equal(t2.queues[0].desc_gpa, 0x1000);
	assert_false(t2.queues[1].ready);
	assert_int_equal(f->activated, 1);             /* no second activation */
	bad = st;
	bad.device_id = 1;
	assert_int_equal(virtio_mmio_restore(&t2, &bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "different type"));
	bad = st;
	bad.driver_features |= 1ULL << 5;
	assert_int_equal(virtio_mmio_restore(&t2, &bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "features 0x20 that the device does not offer"));
	bad = st;
	bad.queues[0].size = 512;
	assert_int_equal(virtio_mmio_restore(&t2, &bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "queue 0 of size 512"));
	bad = st;
	bad.queues[0].used_gpa = RAM_SIZE - 16;
	assert_int_equal(virtio_mmio_restore(&t2, &bad, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not in guest RAM"));
	virtio_mmio_destroy(&t2);
}

/* Regression: an eventfd failure in virtio_mmio_init left irq_efd at 0, so
 * the destroy after it closed fd 0 (stdin). */
static void test_init_failure_keeps_fd0(void **state)
{
	struct fixture f = { 0 };
	struct rlimit old, lim;
	int probe = eventfd(0, EFD_CLOEXEC), ret;

	(void)state;
	if (probe == 0) {   /* no stdin here: give fd 0 something to lose */
		close(probe);
		assert_int_equal(open("/dev/null", O_RDONLY), 0);
		probe = eventfd(0, EFD_CLOEXEC);
	}
	assert_true(probe > 0);
	close(probe);   /* the lowest free fd: the first notify eventfd gets it */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)probe + 1;   /* room for one eventfd, not two */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	ret = virtio_mmio_init(&f.t, "dummy", &dummy_ops, &f, 0, NULL);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ret, -EMFILE);
	assert_int_equal(f.t.irq_efd, -1);
	virtio_mmio_destroy(&f.t);
	assert_true(fcntl(0, F_GETFD) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negotiation_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_activates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_bad_queue_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_num_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space_and_access_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_only_when_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_init_failure_keeps_fd0),
	};

	unit_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
