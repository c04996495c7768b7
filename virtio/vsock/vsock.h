/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock.h - virtio-vsock (virtio 1.2 §5.10) with Firecracker's host side:
 * guest AF_VSOCK stream sockets mapped 1:1 onto host AF_UNIX sockets.
 *
 * Three queues: 0 rx (ember → guest), 1 tx (guest → ember), 2 event (kept
 * valid, never used).  The config space is the guest's CID (le64).  Stream
 * sockets only; the host is CID 2.
 *
 * Host-initiated: ember listens on uds_path; a client connects and writes
 * "CONNECT <port>\n" (at most VSOCK_LINE_MAX bytes, within the handshake
 * timeout, else the unix connection is closed); ember sends OP_REQUEST to the
 * guest from a local port it allocates; OP_RESPONSE makes ember write
 * "OK <local port>\n" and the bytes flow; OP_RST closes the unix socket.
 * Guest-initiated: OP_REQUEST to port P makes ember connect to
 * "<uds_path>_P": OP_RESPONSE on success, OP_RST on failure or timeout.
 *
 * Every tx packet's 44-byte header is copied out of guest RAM once and the
 * copy validated (type, op, CIDs, length against the chain and
 * VSOCK_MAX_PKT, no payload on control ops).  A bad packet is counted and
 * answered with OP_RST (the connection it names is closed); packets with
 * foreign CIDs are dropped.  A broken ring (writable descriptor on tx,
 * readable one on rx, a chain shorter than a header, any virtq violation)
 * asks for a device reset.
 *
 * Credit (§5.10.6.3): ember never sends a connection more payload than
 * peer_buf_alloc - (tx_cnt - peer_fwd_cnt), and advertises the connection's
 * grant (VSOCK_BUF_ALLOC to start with) with fwd_cnt = guest bytes written
 * to the unix socket; a guest writing past that credit gets its connection
 * reset.  The grant follows demand: when the guest has nearly used up the
 * credit it knows of while the unix side keeps up (the ring is mostly
 * drained), the window is what limits the stream, and the grant doubles,
 * up to VSOCK_GRANT_MAX, as long as the device's grants above the starting
 * one stay within VSOCK_GRANT_BUDGET: a few busy connections get up to
 * 1 MiB each, many busy ones share the budget and the rest keep 64 KiB.  A
 * grant never shrinks (credit given cannot be taken back from data already
 * in flight); it ends with its connection.  Guest data is copied into a
 * per-connection send ring (the grant: what the credit promised) and
 * written from there; unix-socket data is received
 * into a staging buffer (VSOCK_RBUF_SIZE, and never more than the guest's
 * credit allows) and copied into rx buffers as they come.  A connection
 * waits for data with a 1-byte MSG_PEEK receive and holds a staging buffer
 * only while it has data for the guest or is streaming (its last receive
 * filled all the room it had: the next one goes without a peek); all of a
 * device's staging buffers together stay within VSOCK_RBUF_BUDGET (a
 * connection over it waits on v->rwait until others drain).  So what a
 * hostile guest or unix client can make ember hold is bounded: max_conns
 * send rings (1024 x 64 KiB = 64 MiB), the grants above that (16 MiB) and
 * the staging budget (8 MiB), ~88 MiB in the worst case.  A slow unix
 * peer or a guest without rx buffers only stops that traffic; the vmm
 * thread never blocks.  Control packets a connection owes the guest are
 * one flag each (VSOCK_PEND_*), never a list.
 *
 * Fairness: one call handles at most a queue's size of tx chains (and one
 * flush as many rx chains); the rest is resumed through the completion
 * eventfd, after the event loop served the other devices.  Host handshakes
 * and guest connects have separate pending budgets, so neither side can
 * lock the other out.
 *
 * Host I/O runs on one io_uring per device (vsock_uds.c): created disabled,
 * a sparse fixed-file table of max_conns + 1 slots (connection i in slot i,
 * the listener in the last), restricted to RECV, SEND, ACCEPT,
 * CONNECT, SHUTDOWN and ASYNC_CANCEL on fixed files only, plus
 * FILES_UPDATE, then enabled.  Sockets live only in that table: ember keeps
 * no other descriptor of a connection, and removing it from the table
 * closes it.  Completions arrive through an eventfd in the vmm loop; a
 * timerfd enforces the handshake and connect timeouts.  The table counts
 * against RLIMIT_NOFILE: vsock_create raises the soft limit towards the
 * hard one if needed and, if that is still too small, lowers max_conns to
 * what fits beside VSOCK_FD_RESERVE descriptors for the rest of ember (and
 * logs it).  An SQE that cannot be had (ring full) is owed, not forgotten:
 * cancels and the listener's ACCEPT are retried on the next kick.
 *
 * Threads: everything runs on the vmm thread with the transport's lock held.
 * The device reset op (a vCPU thread, lock held) only marks the reset and
 * wakes the vmm thread, which drops the connections before it touches the
 * device again: no socket or io_uring call ever runs on a vCPU.  vsock_create
 * and vsock_destroy run on the vmm thread before vCPUs start / after they
 * stopped.
 *
 * This is the device's public side, for vmm/device_table.c: the device
 * struct (which it allocates, and of which it reads `t` and `stats`), the
 * counters, create and destroy.  The connection, its states and what the
 * device's .c files share are in vsock_priv.h.
 */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/un.h>

#include "vmm/config/config.h"
#include "vmm/core/event.h"
#include "vmm/core/usock.h"
#include "virtio/mmio.h"

/* What the layout of struct vsock_dev needs. */
#define VSOCK_ORPHAN_RST   64               /* RSTs for packets naming no connection */
#define VSOCK_HASH_SIZE    1024

/* Counters (all uint64_t: metrics.c sums them field by field).  rx is
 * towards the guest, tx from it, as the queues are named. */
struct vsock_stats {
	uint64_t rx_queue_event_count, tx_queue_event_count;  /* notifications */
	uint64_t rx_packets_count, rx_bytes_count;            /* packets / payload to the guest */
	uint64_t tx_packets_count, tx_bytes_count;            /* packets / payload from it */
	uint64_t conns_added;          /* connections established (either side) */
	uint64_t conns_killed;         /* closed with a RST to the guest */
	uint64_t conns_removed;        /* slots released */
	uint64_t conns_refused;        /* over max_conns / a pending budget, pair busy */
	uint64_t handshake_fails;      /* malformed or late CONNECT lines */
	uint64_t connect_fails;        /* guest-initiated: nobody listening, timeout */
	uint64_t bad_packets;          /* invalid headers, dropped or answered RST */
	uint64_t credit_violations;    /* guest payload beyond ember's credit */
	uint64_t credit_grants;        /* a connection's credit doubled (demand) */
	uint64_t rst_dropped;          /* RSTs for unknown connections not sent (queue full) */
	uint64_t rx_read_fails;        /* unix socket receive errors */
	uint64_t tx_write_fails;       /* unix socket send errors */
	uint64_t ring_errors;          /* io_uring submissions that failed */
};

struct vsock_conn;
struct vsock_uring;

struct vsock_dev {
	struct virtio_mmio t;           /* first: the transport */
	char name[32];                  /* "vsock" */
	uint64_t guest_cid;
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ev_loop *loop;
	unsigned int handshake_ms, connect_ms;   /* VSOCK_*_MS; tests shorten them */
	unsigned int max_conns;         /* VSOCK_MAX_CONNS, or fewer (RLIMIT_NOFILE) */
	struct vsock_conn *conns;       /* max_conns slots */
	struct vsock_conn *hash[VSOCK_HASH_SIZE];   /* live, and closing ones owing a RST */
	TAILQ_HEAD(, vsock_conn) ready; /* connections with a packet for the guest */
	TAILQ_HEAD(, vsock_conn) rwait; /* connections waiting for a staging buffer */
	unsigned int nr_conns, nr_host_pending, nr_guest_pending;
	unsigned int nr_host_lines;     /* host connections still owing their CONNECT line */
	size_t rbuf_used;               /* bytes of staging buffers held */
	size_t grant_extra;             /* send-ring bytes granted above VSOCK_BUF_ALLOC */
	size_t grant_budget;            /* ... at most: VSOCK_GRANT_BUDGET; tests lower it */
	uint32_t next_port;
	struct { uint32_t host_port, guest_port; } orphan[VSOCK_ORPHAN_RST];
	unsigned int nr_orphan;
	struct vsock_uring *uring;      /* the engine (vsock_uds.c) */
	int listen_fd;
	struct usock_id uds_id;         /* the socket file bound at uds_path */
	bool accept_retry;              /* accept failed: rearm on the timer */
	struct ev_source timer_src;     /* timerfd: timeouts */
	uint64_t timer_at_us;           /* 0: disarmed */
	bool need_irq_rx, need_irq_tx;
	bool tx_more;                   /* tx work left when the budget ran out */
	unsigned int fail_sqes;         /* tests: refuse the next N SQEs, as a full ring */
	bool reset_pending;             /* the driver reset: connections still to drop */
	bool reset_event_owed;          /* restored: TRANSPORT_RESET not yet on the event queue */
	struct vsock_stats stats;
	struct virtq_chain chain;       /* scratch for virtq_pop */
};

/* Listen on cfg->uds_path (socket file mode 0600; a stale socket file there
 * is replaced, a live one -EADDRINUSE, any other file -EEXIST) and set up
 * the transport and the io_uring engine on a zeroed `v` (not attached to KVM
 * yet: the builder then calls virtio_mmio_attach).  `loop` receives the
 * engine's completion eventfd and the timeout timerfd.  Called by the device
 * table (the builder) on the vmm thread before vCPUs run.  Logs why and
 * returns -errno on failure; the caller then still calls vsock_destroy,
 * which cleans up after a failure. */
int vsock_create(struct vsock_dev *v, const struct vsock_cfg *cfg, const struct guest_mem *gm,
		 struct ev_loop *loop);
/* Close every connection and the listener, unlink uds_path if it still is
 * the socket file vsock_create bound (not one re-created there since), release the
 * ring and the transport.  Called by the device table on the vmm thread
 * after the vCPUs stopped; safe on a zeroed or half-created device. */
void vsock_destroy(struct vsock_dev *v);
/* Snapshots.  Connections are not carried across one (as with Firecracker):
 * a device restored from a snapshot (created from the snapshot's
 * configuration, so listening on its uds_path again) owes the driver a
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (virtio 1.2 §5.10.6.6), sent on the
 * event queue at the first notification (the restore kicks every queue) or
 * as soon as the driver posts an event buffer; the guest then drops its
 * connections.  Device table, vmm thread, before vCPUs run. */
void vsock_restore(struct vsock_dev *v);

#endif
