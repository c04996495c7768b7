/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.h - virtio-net (virtio 1.2 §5.1) over a host tap device.
 *
 * Two queues, 0 = receiveq and 1 = transmitq, no control queue; VERSION_1
 * only, so every frame carries the 12-byte struct virtio_net_hdr_v1 (with
 * num_buffers).  The tap is opened IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a
 * 12-byte vnet header: one read or write is one frame, header first.  It is
 * made O_NONBLOCK, so io_uring runs its requests inline (or parks a read on
 * the tap's poll queue) instead of in io-wq worker threads.
 *
 * Host I/O runs on one io_uring per device (net_io.c), created disabled, the
 * tap registered as fixed file 0, restricted to READV/WRITEV on that fixed
 * file and ASYNC_CANCEL (of its own requests, for the reset), then enabled;
 * completions wake the vmm thread through an eventfd in its loop.
 *  - TX: each chain's 12-byte header is copied out of guest RAM once and
 *    validated (flags, gso_type against the negotiated HOST_* features,
 *    csum_start/csum_offset and hdr_len inside the frame, 14..65550-byte
 *    frame); the validated copy, then the frame straight from guest RAM, go
 *    to the tap in one WRITEV.  A bad header or length drops that frame
 *    (counted, chain returned with length 0); a chain that cannot be a frame
 *    at all (device-writable buffers, no room for the header) is a driver
 *    violation and the device asks for a reset.
 *  - RX: one READV on the tap is kept in flight while the guest has posted
 *    buffers, reading straight into them.  With MRG_RXBUF chains are taken
 *    until they hold the largest frame (65562 bytes with GUEST_TSO4/6/UFO in
 *    effect, 1530 otherwise).  When the ring has no more (notifications then
 *    re-enabled and the ring looked at again) rx waits for the guest to post
 *    more while it still can, i.e. while the chains held occupy fewer
 *    descriptor-table entries than QueueNum (virtq_chain.nr_slots); once
 *    every entry is held (a driver posting small chains), or after
 *    NET_RX_WAIT_MS (a driver that never fills its ring), the read goes into
 *    what is held, a frame larger than that being dropped and counted.  Only the
 *    chains a frame filled are returned, num_buffers set, and published
 *    together (one used->idx store per frame); without MRG_RXBUF each frame
 *    goes into one chain.  With no buffers posted the tap is not read
 *    (frames wait in the tap's own, kernel-bounded queue) until the guest
 *    notifies queue 0.  A frame whose header carries offloads the guest did
 *    not negotiate is dropped, and so (with F_MTU, virtio 1.2 §5.1.6.3) is a
 *    GSO_NONE frame longer than MTU + 14 + 4 (a VLAN tag).  A failed tap
 *    read stops rx until a retry timer fires: 10 ms, doubling to 1 s while
 *    reads keep failing; a failed io_uring submit is retried the same way.
 *  - Offloads: the tap's TUNSETOFFLOAD is probed at create (only what it
 *    takes is offered) and set to what the guest negotiated at DRIVER_OK
 *    (applied by the vmm thread).  An fd that is not a tap (net_create_fd
 *    with a socketpair, for tests) is taken to accept every offload.
 *  - TX budget: one call takes at most a queue's worth of chains, then
 *    wakes itself through the engine's eventfd (the event loop runs the
 *    rest), so a guest refilling its ring cannot hold the vmm thread.
 *    Chains returned are published once per net_run (virtq_fill, then one
 *    virtq_flush before the interrupt).
 *  - Rate limiters: the tx bucket is charged per frame before it is written
 *    (a dropped frame: one op, no bytes), the rx bucket per frame before it
 *    is handed to the guest; a throttled
 *    direction stops (tx: the frame waits; rx: the frame read waits in the
 *    guest's buffers, no further reads) until its timerfd fires.
 *  - Reset: pre-taken rx chains are forgotten, throttled frames dropped, and
 *    io_uring requests in flight belong to the old generation (epoch): their
 *    completions are discarded.  The tap READV (at most one is ever in
 *    flight) writes into guest memory, so the reset op cancels it and reaps
 *    its completion before it returns (the vCPU's status=0 write completes
 *    only then): once the guest runs again no read can touch its old rx
 *    buffers (virtio 1.2 §2.4), which a Linux driver frees right after the
 *    reset.  A read that took a frame before the cancel landed (the guest
 *    still stopped in its MMIO write) completes normally and the frame is
 *    dropped as stale; one that was cancelled leaves its frame in the tap
 *    for the next generation.  The wait is bounded (NET_RESET_WAIT_MS); if
 *    the bound is hit the reset is logged and counted (reset_read_timeouts)
 *    and the read's completion, whenever it comes, is stale as before.
 *    WRITEVs in flight are not cancelled: they only read guest memory (a
 *    frame the guest wrote before the reset), so they finish on the tap on
 *    their own time, their completions stale; the chains are not returned.
 *  - Destroy: every request still in the engine is cancelled and reaped
 *    (bounded by NET_RESET_WAIT_MS) before the ring is torn down, so none
 *    outlives the device (or the guest RAM its iovecs point into).
 *
 * Threads: the vmm thread runs the data path with the transport's `lock`
 * held (the transport calls `notify` with it held); the vCPU threads reach
 * the device only through the transport (config reads, activate, reset), also
 * under `lock`.  Every io_uring SQ/CQ access is made with `lock` held, so
 * the reset op (a vCPU thread) submits the cancel and reaps on the ring
 * itself: only io_uring_enter, no hand-off to the vmm thread.  Meanwhile
 * the vmm thread at most waits for `lock` (bounded by the reset's wait);
 * the cancelled read's completion needs nothing from it that a blocked
 * futex or epoll wait prevents (the kernel runs a request's task work by
 * interrupting such a wait).  net_create/net_destroy: the vmm thread before
 * vCPUs run / after they stop.
 *
 * This is the device's public side, for vmm/device_table.c: the device
 * struct (which it allocates, and of which it reads `t`, `id` and `stats`)
 * and the types it holds, the counters, create/destroy and the live
 * update.  What net.c, net_tx.c, net_rx.c and net_io.c share is in
 * net_priv.h.
 */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#include "vmm/config/config.h"
#include "vmm/core/event.h"
#include "virtio/mmio.h"
#include "vmm/core/ratelimit.h"

/* What the layout of struct net_dev needs. */
#define NET_QUEUE_SIZE    256
#define NET_RX_MAX_IOV    1024                /* UIO_MAXIOV: one READV */
#define NET_MAX_TX        (2 * NET_QUEUE_SIZE) /* in flight, across a reset */
#define NET_INLINE_IOV    4

/* An rx chain taken from the receive queue, not yet returned. */
struct net_rx_chain {
	uint16_t head;
	uint64_t len;                 /* its writable bytes (≥ NET_HDR_LEN) */
	uint16_t slots;               /* descriptor-table entries it holds */
	unsigned int nr_iov, iov_cap;
	struct iovec *iov;            /* iov_inline or heap, into guest RAM */
	struct iovec iov_inline[NET_INLINE_IOV];
};

/* The one tap READV: which generation, how many chains it covers. */
struct net_rx_read {
	bool busy;                    /* submitted, not completed */
	uint32_t epoch;
	unsigned int nr_chains;       /* rx.chains[rx.first ..] it reads into */
	uint64_t cap;                 /* their bytes */
	unsigned int nr_iov;
	struct iovec iov[NET_RX_MAX_IOV];
};

/* One tx frame from parse to completion. */
struct net_tx_req {
	bool busy;
	bool drop;                    /* refused: back to the guest, not to the tap */
	uint16_t head;
	uint32_t epoch;
	uint32_t len;                 /* frame bytes, without the header */
	struct virtio_net_hdr_v1 hdr; /* the validated copy that is written */
	unsigned int nr_iov, iov_cap;
	struct iovec *iov;            /* [0] = &hdr, then guest RAM */
	struct iovec iov_inline[NET_INLINE_IOV];
};

/* Counters (all uint64_t: metrics.c sums them field by field). */
struct net_stats {
	uint64_t rx_frames, rx_bytes;        /* handed to the guest (bytes: without header) */
	uint64_t tx_frames, tx_bytes;        /* written to the tap */
	uint64_t tx_dropped_oversize;        /* frame longer than NET_MAX_FRAME */
	uint64_t tx_dropped_runt;            /* shorter than an Ethernet header (or empty) */
	uint64_t tx_dropped_bad_hdr;         /* flags/gso/csum/hdr_len refused */
	uint64_t rx_dropped_bad_hdr;         /* tap header with offloads not negotiated */
	uint64_t rx_dropped_bad_len;         /* tap frame too short, larger than the buffers,
					      * or (F_MTU, GSO_NONE) than the MTU allows */
	uint64_t rx_waits_no_buffers;        /* times rx stopped: no (or too few) buffers */
	uint64_t rx_throttled, tx_throttled; /* frames the rate limiters delayed */
	uint64_t io_errors;                  /* tap read/write failed */
	uint64_t stale_completions;          /* completions of a previous generation */
	uint64_t reset_read_timeouts;        /* resets whose read did not stop in time */
	/* where the time goes (frames per interrupt, per wake-up, per notify) */
	uint64_t rx_queue_events, tx_queue_events; /* guest notifications (QueueNotify) */
	uint64_t interrupts;                 /* used-buffer interrupts raised */
	uint64_t io_wakeups;                 /* completion eventfd handler runs */
	uint64_t io_wakeups_idle;            /* ... that found no completion */
	uint64_t tap_reads;                  /* tap READVs completed (any result) */
	uint64_t rx_wait_timeouts;           /* MRG_RXBUF waits ended by NET_RX_WAIT_MS */
};

struct net_uring;

struct net_dev {
	struct virtio_mmio t;                /* first: the transport */
	char name[48];                       /* "net <iface_id>" */
	char id[65];                         /* iface_id, for PATCH /network-interfaces */
	int fd;                              /* the tap (or a stand-in) */
	bool is_tap;                         /* TUNSETOFFLOAD applies */
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu;                        /* offered through VIRTIO_NET_F_MTU; 0: not */
	unsigned int tap_offloads;           /* TUN_F_* the tap accepts (probed) */
	unsigned int offload;                /* TUN_F_* in effect */
	bool offload_pending;                /* DRIVER_OK: set it on the vmm thread */
	struct ev_loop *loop;
	struct net_uring *io;                /* net_io.c */
	struct ev_source done_src;           /* io_uring completion eventfd */
	uint32_t epoch;                      /* reset generation */
	bool need_irq[2];
	/* receive */
	struct {
		struct net_rx_chain chains[NET_QUEUE_SIZE];  /* FIFO of taken chains */
		unsigned int first, nr;
		uint64_t bytes;              /* sum of their lengths */
		unsigned int iovs;           /* sum of their iovecs */
		unsigned int slots;          /* sum of their descriptor-table entries */
		bool waiting;                /* stopped for want of buffers */
		bool wait_over;              /* the wait timer fired: read into what is held */
		bool wait_armed;             /* wait_timer running */
		struct ev_source wait_timer; /* timerfd: NET_RX_WAIT_MS */
		bool stalled;                /* tap read error: until the retry timer */
		bool held;                   /* a frame read, waiting for the rate limiter */
		uint32_t held_len;           /* its bytes, header included */
		struct virtio_net_hdr_v1 hdr; /* its header, checked (written back on delivery) */
		struct net_rx_read read;
	} rx;
	/* transmit */
	struct net_tx_req *tx_deferred;      /* throttled: retried by its timer */
	uint16_t tx_fills;                   /* tx chains filled, not yet flushed */
	uint16_t tx_free[NET_MAX_TX];
	unsigned int nr_tx_free;
	struct net_tx_req tx_reqs[NET_MAX_TX];
	/* rate limiters, [NET_RXQ] and [NET_TXQ] */
	struct rate_limiter rl[2];
	struct ev_source rl_timer[2];        /* timerfds */
	struct net_stats stats;
	bool draining;                       /* snapshot: past the rate limiters */
	struct virtq_chain chain;            /* scratch for virtq_pop */
};

/* The device's own part of a snapshot (fixed-width, little-endian). */
struct net_snap_state {
	struct rate_limiter_state rl[2];     /* [NET_RXQ], [NET_TXQ] buckets */
};

/* Open the tap named cfg->host_dev (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * vnet header size 12) and set up the transport, the rate limiters and the
 * io_uring engine on a zeroed `n` (not yet attached to KVM: the builder then
 * calls virtio_mmio_attach).  `loop` receives the engine's completion
 * eventfd and the rate limiters' timers.  Called by the device table (the
 * builder) on the vmm thread before vCPUs run.  Logs why and returns -errno
 * on failure; the caller then still calls net_destroy, which releases
 * whatever was set up. */
int net_create(struct net_dev *n, const struct net_cfg *cfg, const struct guest_mem *gm,
	       struct ev_loop *loop);
/* Cancel and reap what is in flight, tear down the engine (io_uring_queue_exit),
 * timers, transport and the tap.  Called by the device table on the vmm
 * thread after the vCPUs stopped. */
void net_destroy(struct net_dev *n);
/* New rx / tx buckets, full from now; either may be NULL (unchanged).
 * Throttled frames are retried under the new limits.  Called by the device
 * table for PATCH /network-interfaces on the vmm thread; takes the
 * transport's `lock` itself. */
void net_set_rate_limiters(struct net_dev *n, const struct rate_limiter_cfg *rx,
			   const struct rate_limiter_cfg *tx);

/* Snapshot create, vCPUs paused: a throttled tx frame goes to the tap and
 * a frame read but throttled to the guest (past the rate limiters), the
 * tap read is cancelled (a frame it got is delivered), every tap write
 * completes and is in the used ring; the rx buffers still held for frames
 * to come are given back to the available ring (taken again after the
 * save).  At most until end_ns: 0, or -ETIME / -errno with why in err.
 * Device table, vmm thread; takes `lock`. */
int net_quiesce(struct net_dev *n, uint64_t end_ns, char *err, size_t errlen);
/* After net_quiesce: the rate limiters' buckets.  Device table, vmm thread. */
void net_save(struct net_dev *n, struct net_snap_state *out);
/* On an interface just created from the snapshot's configuration (its tap
 * opened): the buckets, and the offloads the driver negotiated applied
 * again on the tap.  Device table, vmm thread, before vCPUs run. */
int net_restore(struct net_dev *n, const struct net_snap_state *st, char *err, size_t errlen);

#endif
