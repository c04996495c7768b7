// SPDX-License-Identifier: Apache-2.0
/*
 * net.c - virtio-net: features and config space, the queue loop, rate
 * limiting, reset and set-up.  The transmit and receive paths are in
 * net_tx.c and net_rx.c, the io_uring engine in net_io.c.  See net.h for
 * the contract.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/core/log.h"
#include "net_priv.h"

#define VIRTIO_ID_NET   1
#define NET_RUN_ROUNDS  8
#define TUN_F_GSO       (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO)
#define BIT(n)          (1ULL << (n))

/* The config space (virtio 1.2 §5.1.4), up to mtu. */
struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));
_Static_assert(sizeof(struct net_config) == 12, "virtio_net_config layout");

static struct net_dev *to_net(struct virtio_mmio *t)
{
	return (struct net_dev *)t;  /* the transport is the first member */
}

bool net_has(const struct net_dev *n, unsigned int bit)
{
	return virtio_mmio_has_feature(&n->t, bit);
}

bool net_live(const struct net_dev *n)
{
	return (n->t.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(n->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- iovecs over guest buffers ------------------------------------------ */

/* Room for `need` iovecs in *iov (inline storage or heap, kept for reuse). */
int net_iov_reserve(struct iovec **iov, unsigned int *cap, struct iovec *inl, unsigned int need)
{
	struct iovec *p;

	if (!*iov) {
		*iov = inl;
		*cap = NET_INLINE_IOV;
	}
	if (need <= *cap)
		return 0;
	p = realloc(*iov == inl ? NULL : *iov, need * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*iov = p;
	*cap = need;
	return 0;
}

/* ---- interrupts and rate limiter timers ---------------------------------- */

/* Publish the tx chains returned, then one interrupt for everything
 * completed since the last call. */
static void net_flush_irqs(struct net_dev *n)
{
	bool irq = false;

	net_tx_flush(n);
	for (unsigned int i = 0; i < 2; i++) {
		if (n->need_irq[i] && virtq_should_interrupt(&n->t.queues[i]))
			irq = true;
		n->need_irq[i] = false;
	}
	if (irq) {
		n->stats.interrupts++;
		virtio_mmio_interrupt(&n->t, VIRTIO_INT_USED);
	}
}

static void rl_arm(struct net_dev *n, unsigned int dir, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ULL),
						.tv_nsec = (long)(ns % 1000000000ULL) } };

	if (timerfd_settime(n->rl_timer[dir].fd, 0, &its, NULL))
		log_ratelimited(LOG_WARN, "%s: rate limiter timer: %s", n->name, strerror(errno));
}

/* Must a frame of `bytes` wait for the direction's bucket?  Then its timer
 * is armed. */
bool net_throttled(struct net_dev *n, unsigned int dir, uint64_t bytes)
{
	uint64_t wait;

	if (!rate_limiter_active(&n->rl[dir]) || n->draining)
		return false;
	wait = rate_limiter_consume(&n->rl[dir], bytes, now_ns());
	if (!wait)
		return false;
	if (dir == NET_TXQ)
		n->stats.tx_throttled++;
	else
		n->stats.rx_throttled++;
	rl_arm(n, dir, wait);
	return true;
}

/* ---- the engine's completions, the queue loop ------------------------------ */

void net_io_done(struct net_dev *n, void *tag, int res)
{
	if (tag == &n->rx.read)
		net_rx_done(n, res);
	else
		net_tx_done(n, tag, res);
}

/* TUNSETOFFLOAD for what the guest negotiated (vmm thread, after DRIVER_OK). */
static void offload_apply(struct net_dev *n)
{
	unsigned int off = 0;

	n->offload_pending = false;
	if (net_has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		off = TUN_F_CSUM;
		off |= net_has(n, VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
		off |= net_has(n, VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
		off |= net_has(n, VIRTIO_NET_F_GUEST_UFO) ? TUN_F_UFO : 0;
	}
	off &= n->tap_offloads;
	if (n->is_tap && ioctl(n->fd, TUNSETOFFLOAD, off)) {
		log_ratelimited(LOG_ERROR, "%s: TUNSETOFFLOAD %#x: %s", n->name, off, strerror(errno));
		return;
	}
	n->offload = off;
}

void net_run(struct net_dev *n)
{
	if (n->offload_pending && net_live(n))
		offload_apply(n);
	for (unsigned int round = 0;; round++) {
		net_tx_process(n);
		net_rx_start(n);
		if (!net_io_queued(n)) {
			if (round < NET_RUN_ROUNDS && net_io_settle(n))
				continue;  /* completions came in meanwhile */
			break;
		}
		/* Reap what the kernel finished inline, then go again; the last
		 * round leaves completions to the eventfd.  A failed submit is
		 * retried from the engine's timer. */
		if (net_io_kick(n, round < NET_RUN_ROUNDS) || round >= NET_RUN_ROUNDS)
			break;
	}
	net_flush_irqs(n);
}

/* A tap read error is retried from the engine's timer (with backoff), not
 * by the guest's notifications. */
static void net_notify(struct virtio_mmio *t, unsigned int queue)
{
	struct net_dev *n = to_net(t);

	(*(queue == NET_RXQ ? &n->stats.rx_queue_events : &n->stats.tx_queue_events))++;
	net_run(n);
}

/* vCPU thread, `lock` held: the tap's offloads change on the vmm thread. */
static int net_activate(struct virtio_mmio *t)
{
	to_net(t)->offload_pending = true;
	return 0;
}

/* vCPU thread, `lock` held: the driver reset the device.  rx chains taken
 * are forgotten, throttled frames dropped; requests in the engine finish
 * against the old epoch, and the tap read (it writes into guest RAM) is
 * cancelled and reaped before the guest runs again. */
static void net_reset(struct virtio_mmio *t)
{
	struct net_dev *n = to_net(t);
	int ret;

	n->epoch++;
	ret = net_io_cancel(n, &n->rx.read, &n->rx.read.busy, NET_RESET_WAIT_MS);
	if (ret) {
		n->stats.reset_read_timeouts++;
		log_ratelimited(LOG_ERROR, "%s: reset: the tap read did not stop (%s): it may "
				"still write into the old rx buffers", n->name,
				ret == -ETIME ? "timed out" : strerror(-ret));
	}
	n->rx.first = n->rx.nr = n->rx.iovs = n->rx.slots = 0;
	n->rx.bytes = 0;
	n->rx.waiting = n->rx.stalled = n->rx.held = false;
	net_rx_wait_timer(n, false);
	n->rx.wait_over = false;
	if (n->tx_deferred)
		net_tx_free(n, n->tx_deferred);
	n->tx_deferred = NULL;
	n->tx_fills = 0;
	net_io_retry_reset(n);
	n->need_irq[0] = n->need_irq[1] = false;
	n->offload_pending = false;
}

/* ---- snapshots ------------------------------------------------------------ */

/* The rx chains held for frames to come go back to the available ring
 * (a device that needs a reset keeps them: the driver's reset forgets
 * them, and its queues are saved as they are). */
static int rx_give_back(struct net_dev *n)
{
	uint16_t heads[NET_QUEUE_SIZE];
	unsigned int nr = n->rx.nr;

	if (!net_live(n) || n->t.queues[NET_RXQ].broken)
		return 0;
	for (unsigned int i = 0; i < nr; i++)
		heads[i] = n->rx.chains[(n->rx.first + i) % NET_QUEUE_SIZE].head;
	if (nr && virtq_unpop(&n->t.queues[NET_RXQ], heads, (uint16_t)nr))
		return -EINVAL;
	n->rx.first = n->rx.nr = n->rx.iovs = n->rx.slots = 0;
	n->rx.bytes = 0;
	n->rx.waiting = n->rx.wait_over = false;
	net_rx_wait_timer(n, false);
	return 0;
}

int net_quiesce(struct net_dev *n, uint64_t end_ns, char *err, size_t errlen)
{
	struct net_tx_req *r;
	uint64_t now = now_ns();
	int ret;

	pthread_mutex_lock(&n->t.lock);
	n->draining = true;
	r = n->tx_deferred;
	n->tx_deferred = NULL;
	if (r)
		net_tx_go(n, r);
	if (n->rx.held)
		net_rx_deliver(n);
	ret = net_io_cancel(n, &n->rx.read, &n->rx.read.busy,
			    end_ns > now ? (unsigned int)((end_ns - now) / 1000000ULL) : 0);
	if (!ret)
		ret = net_io_wait_idle(n, end_ns);
	if (!ret && n->rx.held)
		net_rx_deliver(n);  /* what the cancelled read got */
	net_flush_irqs(n);
	if (!ret && (n->rx.held || n->tx_deferred))
		ret = -EBUSY;
	if (!ret)
		ret = rx_give_back(n);
	n->draining = false;
	if (ret)
		snprintf(err, errlen, "%s: I/O still in flight: %s", n->name,
			 ret == -ETIME ? "the tap did not finish in time" : strerror(-ret));
	pthread_mutex_unlock(&n->t.lock);
	/* After the save (the loop runs this later): buffers for the tap again. */
	virtio_mmio_kick(&n->t, NET_RXQ);
	return ret;
}

void net_save(struct net_dev *n, struct net_snap_state *out)
{
	uint64_t now = now_ns();

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&n->t.lock);
	rate_limiter_save(&n->rl[NET_RXQ], now, &out->rl[NET_RXQ]);
	rate_limiter_save(&n->rl[NET_TXQ], now, &out->rl[NET_TXQ]);
	pthread_mutex_unlock(&n->t.lock);
}

int net_restore(struct net_dev *n, const struct net_snap_state *st, char *err, size_t errlen)
{
	uint64_t now = now_ns();

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&n->t.lock);
	rate_limiter_restore(&n->rl[NET_RXQ], &st->rl[NET_RXQ], now);
	rate_limiter_restore(&n->rl[NET_TXQ], &st->rl[NET_TXQ], now);
	n->offload_pending = net_live(n);  /* TUNSETOFFLOAD at the first net_run */
	pthread_mutex_unlock(&n->t.lock);
	return 0;
}

static void net_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, unsigned int size)
{
	struct net_dev *n = to_net(t);
	struct net_config cfg = {
		.status = htole16(VIRTIO_NET_S_LINK_UP),
		.max_virtqueue_pairs = htole16(1),
		.mtu = htole16(n->mtu),
	};

	if (n->has_mac)
		memcpy(cfg.mac, n->mac, sizeof(cfg.mac));
	memcpy(data, (uint8_t *)&cfg + off, size);
}

static void net_config_write(struct virtio_mmio *t, uint32_t off, const uint8_t *data,
			     unsigned int size)
{
	(void)data;
	(void)size;
	t->ignored_writes++;
	log_ratelimited(LOG_WARN, "%s: ignored write to config offset %u: read-only", t->name, off);
}

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = NET_QUEUE_SIZE,
	.config_len = sizeof(struct net_config),
	.config_read = net_config_read,
	.config_write = net_config_write,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
};

/* ---- rate limiters ----------------------------------------------------------- */

/* vmm thread: a direction's bucket may have tokens again. */
static void on_rl_timer(struct ev_source *src, uint32_t events)
{
	struct net_dev *n = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&n->t.lock);
	if (src == &n->rl_timer[NET_RXQ] && n->rx.held) {
		net_rx_deliver(n);
	} else if (src == &n->rl_timer[NET_TXQ] && n->tx_deferred && net_live(n)) {
		struct net_tx_req *r = n->tx_deferred;

		n->tx_deferred = NULL;
		net_tx_go(n, r);
	}
	net_run(n);  /* and the rest, unless throttled again */
	pthread_mutex_unlock(&n->t.lock);
}

/* vmm thread: rx waited NET_RX_WAIT_MS for more buffers: read into what
 * is held. */
static void on_rx_wait(struct ev_source *src, uint32_t events)
{
	struct net_dev *n = src->opaque;
	uint64_t v;

	(void)events;
	if (read(src->fd, &v, sizeof(v)) < 0)
		return;  /* disarmed meanwhile */
	pthread_mutex_lock(&n->t.lock);
	n->rx.wait_armed = false;
	n->rx.wait_over = true;
	n->stats.rx_wait_timeouts++;
	net_run(n);
	pthread_mutex_unlock(&n->t.lock);
}

void net_set_rate_limiters(struct net_dev *n, const struct rate_limiter_cfg *rx,
			   const struct rate_limiter_cfg *tx)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&n->t.lock);
	if (rx)
		rate_limiter_set(&n->rl[NET_RXQ], rx, now);
	if (tx)
		rate_limiter_set(&n->rl[NET_TXQ], tx, now);
	if (n->rx.held)
		rl_arm(n, NET_RXQ, 1);  /* try again under the new limits */
	if (n->tx_deferred)
		rl_arm(n, NET_TXQ, 1);
	pthread_mutex_unlock(&n->t.lock);
}

/* The device's timerfds: the rx and tx rate limiters', then the rx wait's. */
#define NET_TIMERS 3

static struct ev_source *net_timer(struct net_dev *n, unsigned int i)
{
	return i < 2 ? &n->rl_timer[i] : &n->rx.wait_timer;
}

static int rl_init(struct net_dev *n, const struct net_cfg *cfg)
{
	uint64_t now = now_ns();

	rate_limiter_set(&n->rl[NET_RXQ], &cfg->rx, now);
	rate_limiter_set(&n->rl[NET_TXQ], &cfg->tx, now);
	for (unsigned int i = 0; i < NET_TIMERS; i++) {
		struct ev_source *src = net_timer(n, i);
		int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), ret;

		if (fd < 0)
			return -errno;
		*src = (struct ev_source){ .fd = fd, .cb = i < 2 ? on_rl_timer : on_rx_wait,
					   .opaque = n };
		ret = ev_add(n->loop, src, EPOLLIN);
		if (ret) {
			close(fd);
			src->cb = NULL;
			return ret;
		}
	}
	return 0;
}

/* ---- set-up ------------------------------------------------------------------ */

/* What TUNSETOFFLOAD the tap takes: CSUM, then each GSO kind with it. */
static void offload_probe(struct net_dev *n)
{
	static const unsigned int gso[] = { TUN_F_TSO4, TUN_F_TSO6, TUN_F_UFO };

	n->tap_offloads = 0;
	if (ioctl(n->fd, TUNSETOFFLOAD, TUN_F_CSUM))
		return;
	n->tap_offloads = TUN_F_CSUM;
	for (unsigned int i = 0; i < sizeof(gso) / sizeof(gso[0]); i++)
		if (!ioctl(n->fd, TUNSETOFFLOAD, TUN_F_CSUM | gso[i]))
			n->tap_offloads |= gso[i];
	if (ioctl(n->fd, TUNSETOFFLOAD, 0))
		log_warn("%s: cannot clear the tap's offloads: %s", n->name, strerror(errno));
}

static uint64_t net_features(const struct net_dev *n)
{
	uint64_t f = BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS) |
		     BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);

	f |= n->has_mac ? BIT(VIRTIO_NET_F_MAC) : 0;
	f |= n->mtu ? BIT(VIRTIO_NET_F_MTU) : 0;  /* Firecracker: only when configured */
	if (n->tap_offloads & TUN_F_CSUM)
		f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (n->tap_offloads & TUN_F_TSO4)
		f |= BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (n->tap_offloads & TUN_F_TSO6)
		f |= BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (n->tap_offloads & TUN_F_UFO)
		f |= BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_GUEST_UFO);
	return f;
}

/* A tap gets the 12-byte vnet header and its offloads probed; anything else
 * standing in for one is taken to accept every offload. */
static int tap_setup(struct net_dev *n)
{
	struct ifreq ifr;
	int sz = NET_HDR_LEN, fl;

	memset(&ifr, 0, sizeof(ifr));
	n->is_tap = !ioctl(n->fd, TUNGETIFF, &ifr);
	if (!n->is_tap) {
		n->tap_offloads = TUN_F_CSUM | TUN_F_GSO;
		return 0;
	}
	if (!(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_NO_PI) ||
	    !(ifr.ifr_flags & IFF_TAP)) {
		log_error("%s: the tap must be IFF_TAP | IFF_NO_PI | IFF_VNET_HDR", n->name);
		return -EINVAL;
	}
	if (ioctl(n->fd, TUNSETVNETHDRSZ, &sz)) {
		log_error("%s: TUNSETVNETHDRSZ: %s", n->name, strerror(errno));
		return -errno;
	}
	/* Non-blocking: a tap does not advertise FMODE_NOWAIT, so io_uring
	 * tries a READV/WRITEV inline only on an O_NONBLOCK one (a read with no
	 * frame then waits on the tap's poll queue, retried from task work on
	 * the vmm thread).  On a blocking tap every request is punted to an
	 * io-wq worker thread: a thread hop and an eventfd wake-up per frame,
	 * no write ever completing at submit. */
	fl = fcntl(n->fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(n->fd, F_SETFL, fl | O_NONBLOCK))) {
		log_error("%s: cannot make the tap non-blocking: %s", n->name, strerror(errno));
		return -errno;
	}
	offload_probe(n);
	return 0;
}

int net_create_fd(struct net_dev *n, const struct net_cfg *cfg, int fd,
		  const struct guest_mem *gm, struct ev_loop *loop)
{
	int ret;

	snprintf(n->name, sizeof(n->name), "net %s", cfg->id);
	snprintf(n->id, sizeof(n->id), "%s", cfg->id);
	n->fd = fd;
	n->loop = loop;
	n->has_mac = cfg->has_mac;
	memcpy(n->mac, cfg->mac, sizeof(n->mac));
	n->mtu = cfg->mtu;
	n->nr_tx_free = 0;
	for (unsigned int i = NET_MAX_TX; i-- > 0;)
		n->tx_free[n->nr_tx_free++] = (uint16_t)i;
	ret = tap_setup(n);
	if (ret)
		return ret;
	ret = virtio_mmio_init(&n->t, n->name, &net_ops, n, net_features(n), gm);
	if (ret)
		return ret;
	ret = rl_init(n, cfg);
	if (ret)
		return ret;
	ret = net_io_init(n);
	if (ret) {
		log_error("%s: cannot start the io_uring engine: %s", n->name, strerror(-ret));
		return ret;
	}
	log_info("%s: %s%s, offloads %#x", n->name, cfg->host_dev ? cfg->host_dev : "(fd)",
		 n->is_tap ? "" : " (not a tap)", n->tap_offloads);
	return 0;
}

/* The configured mtu on the host side too (SIOCSIFMTU through a query
 * socket), so the tap passes the frames the guest is told it may send.  A
 * tap that refuses it fails the start: the guest would send frames the
 * host drops. */
static int tap_set_mtu(struct net_dev *n, const char *dev, uint16_t mtu)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0) {
		ret = -errno;
		log_error("%s: cannot set the MTU of tap %s: socket: %s", n->name, dev, strerror(-ret));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr)) {
		ret = -errno;
		log_error("%s: cannot set the MTU of tap %s to %u: %s", n->name, dev, mtu,
			  strerror(-ret));
	}
	close(s);
	return ret;
}

int net_create(struct net_dev *n, const struct net_cfg *cfg, const struct guest_mem *gm,
	       struct ev_loop *loop)
{
	struct ifreq ifr;
	int fd, ret;

	n->fd = -1;
	snprintf(n->name, sizeof(n->name), "net %s", cfg->id);
	if (!cfg->host_dev || strlen(cfg->host_dev) >= IFNAMSIZ) {
		log_error("%s: host_dev_name must be 1 to %d characters", n->name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* As root, TUNSETIFF would create a missing tap: one nobody configured. */
	if (!if_nametoindex(cfg->host_dev)) {
		log_error("%s: no network device %s in ember's network namespace: create the tap first",
			  n->name, cfg->host_dev);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);  /* see tap_setup */
	if (fd < 0) {
		log_error("%s: cannot open /dev/net/tun: %s", n->name, strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->host_dev);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int err = errno;

		log_error("%s: cannot open tap %s: %s", n->name, cfg->host_dev, strerror(err));
		close(fd);
		return -err;
	}
	if (cfg->mtu && (ret = tap_set_mtu(n, cfg->host_dev, cfg->mtu))) {
		close(fd);
		return ret;
	}
	return net_create_fd(n, cfg, fd, gm, loop);
}

void net_destroy(struct net_dev *n)
{
	n->epoch++;  /* what the engine still completes is stale */
	net_io_destroy(n);
	for (unsigned int i = 0; i < NET_TIMERS; i++) {
		struct ev_source *src = net_timer(n, i);

		if (!src->cb)
			continue;
		ev_del(n->loop, src);
		close(src->fd);
		src->cb = NULL;
	}
	n->rx.wait_armed = false;
	if (n->t.ops)
		virtio_mmio_destroy(&n->t);
	n->t.ops = NULL;
	for (unsigned int i = 0; i < NET_QUEUE_SIZE; i++)
		if (n->rx.chains[i].iov != n->rx.chains[i].iov_inline)
			free(n->rx.chains[i].iov);
	for (unsigned int i = 0; i < NET_MAX_TX; i++)
		if (n->tx_reqs[i].iov != n->tx_reqs[i].iov_inline)
			free(n->tx_reqs[i].iov);
	memset(n->rx.chains, 0, sizeof(n->rx.chains));
	memset(n->tx_reqs, 0, sizeof(n->tx_reqs));
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

