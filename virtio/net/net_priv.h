/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net_priv.h - what net.c, net_tx.c, net_rx.c and net_io.c (and the
 * device's unit test and fuzzer) share; nothing outside virtio/net/ and
 * tests/ includes it.  The device and its threads are described in net.h.
 */
#ifndef EMBER_VIRTIO_NET_PRIV_H
#define EMBER_VIRTIO_NET_PRIV_H

#include "net.h"

#define NET_RXQ           0
#define NET_TXQ           1
#define NET_HDR_LEN       12                  /* struct virtio_net_hdr_v1 */
#define NET_MTU           1500
#define NET_ETH_HLEN      14
#define NET_VLAN_HLEN     4                   /* an 802.1Q tag */
#define NET_MIN_FRAME     NET_ETH_HLEN
#define NET_SMALL_FRAME   (NET_MTU + NET_ETH_HLEN)     /* 1514 */
#define NET_RX_SMALL      (NET_SMALL_FRAME + 4)        /* rx room: a VLAN tag too */
#define NET_MAX_FRAME     65550               /* without the vnet header */
#define NET_RESET_WAIT_MS 200                 /* reset: bound on the read's cancel */
#define NET_RX_WAIT_MS    50                  /* MRG_RXBUF: bound on waiting for buffers */

_Static_assert(sizeof(struct virtio_net_hdr_v1) == NET_HDR_LEN, "virtio_net_hdr_v1 layout");

/* net_create over an already-open fd that behaves like a tap (one frame,
 * vnet header first, per read and write): the unit tests and the fuzzer pass
 * a SOCK_SEQPACKET / SOCK_DGRAM socketpair end (net_create itself calls it
 * with the tap it opened).  Takes ownership of `fd`: net_destroy closes it
 * (after a failure too).  Same thread and error rules as net_create. */
int net_create_fd(struct net_dev *n, const struct net_cfg *cfg, int fd,
		  const struct guest_mem *gm, struct ev_loop *loop);
/* vmm thread, `lock` held: move both directions along — apply a pending
 * offload change, take tx frames, keep the rx read going, hand work to the
 * engine and interrupt the guest once for what completed.  The notify op
 * and every completion path end here; exposed for the tests. */
void net_run(struct net_dev *n);

/* ---- between net.c, net_tx.c and net_rx.c (internal) ------------------- */

/* Negotiated feature?  Device live (DRIVER_OK, no NEEDS_RESET)? */
bool net_has(const struct net_dev *n, unsigned int bit);
bool net_live(const struct net_dev *n);
/* Room for `need` iovecs in *iov (inline `inl` first, then heap, kept). */
int net_iov_reserve(struct iovec **iov, unsigned int *cap, struct iovec *inl, unsigned int need);
/* Must a frame of `bytes` wait for direction `dir`'s bucket?  (Counted,
 * and the direction's timer armed.) */
bool net_throttled(struct net_dev *n, unsigned int dir, uint64_t bytes);

/* TX: take what the transmit queue holds (unless throttled; at most a
 * queue's worth, then net_io_wake); a frame's write finished; a throttled
 * frame tried again (false: still throttled); a request released; publish
 * the chains returned since the last flush (net_run, before interrupts). */
void net_tx_process(struct net_dev *n);
void net_tx_done(struct net_dev *n, struct net_tx_req *r, int res);
bool net_tx_go(struct net_dev *n, struct net_tx_req *r);
void net_tx_free(struct net_dev *n, struct net_tx_req *r);
void net_tx_flush(struct net_dev *n);
/* RX: keep a tap read going while the guest has buffers; the read
 * finished; hand the held frame to the guest (through the rx bucket). */
void net_rx_start(struct net_dev *n);
/* Arm (on) or disarm the NET_RX_WAIT_MS bound on waiting for buffers. */
void net_rx_wait_timer(struct net_dev *n, bool on);
void net_rx_done(struct net_dev *n, int res);
void net_rx_deliver(struct net_dev *n);

/* ---- the io_uring engine (net_io.c), `lock` held, vmm thread unless said */

/* Set up the ring, its completion eventfd and the retry timer in n->loop;
 * tear them down, first cancelling and reaping (through net_io_done, bounded
 * by NET_RESET_WAIT_MS) every request still in flight. */
int net_io_init(struct net_dev *n);
void net_io_destroy(struct net_dev *n);
/* Queue a READV / WRITEV of the tap; `tag` comes back in net_io_done.
 * The iovecs must stay valid until then.  0 or -errno. */
int net_io_readv(struct net_dev *n, const struct iovec *iov, unsigned int nr, void *tag);
int net_io_writev(struct net_dev *n, const struct iovec *iov, unsigned int nr, void *tag);
/* Anything queued and not yet submitted? */
bool net_io_queued(const struct net_dev *n);
/* Submit what is queued; reap: true also hands every completion already
 * there to net_io_done (requests the kernel finished inline).  0, or the
 * submit's -errno (a retry is then scheduled: net_io_retry_later). */
int net_io_kick(struct net_dev *n, bool reap);
/* Run the device again from the event loop soon (the completion eventfd):
 * work left over by a budget. */
void net_io_wake(struct net_dev *n);
/* End of a net_run: clear the eventfd of the signals of completions already
 * reaped inline (no wake-up for nothing), then reap what came meanwhile;
 * true if that found completions (run again). */
bool net_io_settle(struct net_dev *n);
/* Something failed (a tap read, a submit): clear rx.stalled and net_run
 * from the retry timer, 10 ms after the first failure, doubling to 1 s;
 * net_io_retry_reset (a read worked, a device reset) starts over at 10 ms. */
void net_io_retry_later(struct net_dev *n);
void net_io_retry_reset(struct net_dev *n);
/* `lock` held, vmm or vCPU thread (the reset op): cancel the request(s)
 * tagged `tag` and hand completions to net_io_done until *busy is false,
 * waiting at most `ms`.  0, -ETIME (still busy), or -errno. */
int net_io_cancel(struct net_dev *n, void *tag, const bool *busy, unsigned int ms);
/* Snapshot drain, vmm thread, `lock` held: submit what is queued and hand
 * every completion to net_io_done until no request is pending, at most
 * until end_ns (CLOCK_MONOTONIC).  0, -ETIME or -errno. */
int net_io_wait_idle(struct net_dev *n, uint64_t end_ns);
/* Engine → device: the request tagged `tag` finished with `res` (bytes or
 * -errno). */
void net_io_done(struct net_dev *n, void *tag, int res);

#endif
