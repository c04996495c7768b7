/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_priv.h - what vsock.c, vsock_rx.c, vsock_conn.c, vsock_host.c and
 * vsock_uds.c (and the device's unit test and fuzzer) share: the limits,
 * the connection and its states, the functions between the files.  Nothing
 * outside virtio/vsock/ and tests/ includes it.  The device and its threads
 * are described in vsock.h.
 */
#ifndef EMBER_VIRTIO_VSOCK_PRIV_H
#define EMBER_VIRTIO_VSOCK_PRIV_H

#include "vsock.h"

#define VSOCK_QUEUE_SIZE   256
#define VSOCK_RXQ          0
#define VSOCK_TXQ          1
#define VSOCK_EVQ          2
#define VSOCK_HOST_CID     2
#define VSOCK_HDR_LEN      44
#define VSOCK_MAX_PKT      (64 * 1024)      /* payload of one packet, either way */
#define VSOCK_BUF_ALLOC    (64 * 1024)      /* the credit a connection starts with (its send ring) */
#define VSOCK_GRANT_MAX    (1024 * 1024)    /* the most one connection is granted */
#define VSOCK_GRANT_BUDGET (16 * 1024 * 1024) /* all grants above VSOCK_BUF_ALLOC, per device */
#define VSOCK_RBUF_SIZE    (32 * 1024)      /* unix → guest staging per connection */
#define VSOCK_RBUF_BUDGET  (8 * 1024 * 1024) /* all staging buffers of a device */
#define VSOCK_MAX_CONNS    1024             /* connections, closing ones included (at most) */
#define VSOCK_FD_RESERVE   64               /* descriptors left to the rest of ember */
#define VSOCK_MAX_HOST_PENDING  64          /* host connections owing their CONNECT line */
#define VSOCK_MAX_GUEST_PENDING 64          /* guest connects in progress */
#define VSOCK_LINE_MAX     32               /* "CONNECT <port>\n" */
#define VSOCK_HANDSHAKE_MS 2000             /* for the CONNECT line */
#define VSOCK_CONNECT_MS   2000             /* for the guest's answer / our connect */
#define VSOCK_LOCAL_PORT0  (1u << 30)       /* first local port of host connections */

enum vsock_state {
	VSOCK_FREE,          /* slot unused */
	VSOCK_HANDSHAKE,     /* host-initiated: reading "CONNECT <port>\n" */
	VSOCK_REQUEST,       /* host-initiated: OP_REQUEST for the guest, awaiting its answer */
	VSOCK_CONNECTING,    /* guest-initiated: connecting to <uds_path>_<port> */
	VSOCK_ESTABLISHED,
	VSOCK_CLOSING,       /* socket gone: waiting for host I/O in flight and a queued RST */
};

/* Packets a connection owes the guest. */
#define VSOCK_PEND_REQUEST  1
#define VSOCK_PEND_RESPONSE 2
#define VSOCK_PEND_RST      4
#define VSOCK_PEND_SHUTDOWN 8
#define VSOCK_PEND_CREDIT   16

/* Host I/O in flight on the ring (also the user_data kinds). */
#define VSOCK_IO_RECV    1
#define VSOCK_IO_SEND    2
#define VSOCK_IO_CONNECT 4
#define VSOCK_IO_SHUT    8
#define VSOCK_IO_CANCEL  16
#define VSOCK_IO_ACCEPT  32
#define VSOCK_IO_PEEK    64     /* 1-byte MSG_PEEK: wait for data without a buffer */

struct vsock_conn {
	enum vsock_state state;
	uint16_t slot;                  /* in conns[] and in the ring's file table */
	uint8_t pend;                   /* VSOCK_PEND_* */
	uint8_t io;                     /* VSOCK_IO_* in flight */
	uint8_t cancel_owed;            /* VSOCK_IO_* whose cancel found no SQE */
	uint8_t peek;                   /* the MSG_PEEK byte */
	uint32_t gen;                   /* incarnation of the slot (user_data) */
	uint32_t host_port, guest_port;
	bool hashed, listed, pending, has_file;
	bool put_owed;                  /* closed: the slot is emptied when the
					 * SHUTDOWN in flight completes */
	bool line_wait;                 /* host-initiated, CONNECT line not yet read */
	bool from_host;                 /* host-initiated: counts as a host pending */
	bool readable;                  /* the peek saw data (or a receive filled all
					 * it asked for): receive without peeking */
	bool r_inline;                  /* staged bytes are in line[] (after CONNECT) */
	bool rwaiting;                  /* on v->rwait for a staging buffer */
	bool guest_shut_rcv, guest_shut_send;   /* the guest's SHUTDOWN flags */
	bool host_eof;                  /* the unix side will send no more */
	bool shut_sent;                 /* our SHUTDOWN(SEND) reached the guest */
	bool wr_shut;                   /* SHUT_WR issued on the unix socket */
	bool starved;                   /* the guest used up the credit it knew of */
	uint64_t deadline_us;           /* HANDSHAKE, REQUEST, CONNECTING */
	/* guest → unix: a ring of grant + VSOCK_LINE_MAX bytes; the credit
	 * advertised (buf_alloc) is `grant`, which grows while the guest keeps
	 * running out of it and the unix side keeps up (vsock_conn.c) */
	uint32_t grant;
	uint8_t *sbuf;
	uint32_t s_head, s_len;
	uint32_t s_extra;               /* bytes at the head that are ours ("OK n\n") */
	uint32_t rx_cnt;                /* guest payload bytes accepted */
	uint32_t fwd_cnt;               /* ... and written to the unix socket */
	uint32_t fwd_adv;               /* fwd_cnt last told to the guest */
	/* unix → guest */
	uint8_t *rbuf;                  /* VSOCK_RBUF_SIZE, only while data is staged */
	uint32_t r_off, r_len;          /* staged bytes */
	uint32_t r_asked;               /* room given to the receive in flight */
	uint32_t tx_cnt;                /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	/* handshake and connect */
	char line[VSOCK_LINE_MAX];
	uint32_t line_len;
	struct sockaddr_un addr;
	struct vsock_conn *hnext;       /* hash chain */
	TAILQ_ENTRY(vsock_conn) rlink;  /* on the rx ready list */
	TAILQ_ENTRY(vsock_conn) wlink;  /* on v->rwait */
};

/* ---- between vsock.c, vsock_conn.c and vsock_uds.c (and the tests) -----
 * All: vmm thread (or the reset op), transport lock held. */

/* vsock.c: deliver what connections owe the guest into rx buffers, publish
 * used rings and interrupt; run the engine until it is quiet. */
void vsock_flush(struct vsock_dev *v);
/* The completion eventfd fired: resume tx work a budget cut short, flush. */
void vsock_resume(struct vsock_dev *v);

/* vsock_rx.c: fill at most *budget rx chains (counted down); when work is
 * left at 0, wake the vmm thread to come back for it. */
void vsock_rx_deliver(struct vsock_dev *v, unsigned int *budget);
/* Is the driver up (DRIVER_OK, no NEEDS_RESET)? */
bool vsock_live(const struct vsock_dev *v);
/* After a device reset (vCPU thread), drop the old connections: the vmm
 * thread calls this first on every entry (notify, completions, timer). */
void vsock_settle_reset(struct vsock_dev *v);

/* vsock_conn.c: the connection table and state machine. */
struct vsock_conn *vsock_conn_alloc(struct vsock_dev *v, enum vsock_state state);
struct vsock_conn *vsock_conn_find(struct vsock_dev *v, uint32_t host_port,
				   uint32_t guest_port);
void vsock_conn_hash(struct vsock_dev *v, struct vsock_conn *c);
/* Close the connection's socket; with `rst`, tell the guest (when it knows
 * the connection).  The slot is released once nothing is in flight. */
void vsock_conn_close(struct vsock_dev *v, struct vsock_conn *c, bool rst);
/* Recompute whether the connection has a packet for the guest. */
void vsock_conn_update(struct vsock_dev *v, struct vsock_conn *c);
/* Start host I/O the connection can do now (receive, send, shut down). */
void vsock_conn_pump(struct vsock_dev *v, struct vsock_conn *c);
/* Guest credit in bytes (what ember may still send). */
/* The connection's send ring, allocated on first use: 0 or -ENOMEM; its
 * size in bytes (the grant plus room for the "OK <port>\n" line). */
int vsock_conn_ring(struct vsock_conn *c);
/* After guest payload: note when the guest is (nearly) out of the credit
 * it knows of, and so waits for ember. */
void vsock_conn_credit_used(struct vsock_conn *c);
uint32_t vsock_conn_ring_size(const struct vsock_conn *c);
void vsock_conn_ring_free(struct vsock_conn *c);
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
/* The guest connects to host_port (OP_REQUEST for no live connection). */
void vsock_conn_guest_request(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port,
			      uint32_t buf_alloc, uint32_t fwd_cnt);
/* Give staging buffers to connections waiting for one, as the budget allows. */
void vsock_conn_resume_recv(struct vsock_dev *v);
/* Is a connection waiting for a staging buffer the budget now has room for? */
bool vsock_conn_can_resume(const struct vsock_dev *v);
/* A complete "CONNECT <port>" line (without '\n') arrived: ask the guest. */
void vsock_conn_host_request(struct vsock_dev *v, struct vsock_conn *c, uint32_t port);
/* Host-initiated: the guest answered our OP_REQUEST with OP_RESPONSE. */
void vsock_conn_accepted(struct vsock_dev *v, struct vsock_conn *c);
/* Is there a packet for the guest?  (vsock.c) */
bool vsock_conn_has_rx(const struct vsock_conn *c);
/* Engine results: bytes (or -errno) for an I/O of kind VSOCK_IO_* . */
void vsock_conn_io_done(struct vsock_dev *v, struct vsock_conn *c, unsigned int kind,
			int res);
/* Timer: close the connections whose handshake or connect is late; the
 * next deadline (0: none). */
uint64_t vsock_conn_expire(struct vsock_dev *v, uint64_t now_us);
/* Device reset: drop every connection. */
void vsock_conn_drop_all(struct vsock_dev *v);
/* Queue a RST for a packet naming no connection (bounded; counted if full). */
void vsock_orphan_rst(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port);

/* vsock_uds.c: the unix-socket side and its io_uring. */
int vsock_uds_init(struct vsock_dev *v, const char *path);
/* Put `fd` in the connection's slot of the file table and close `fd`. */
int vsock_uds_install(struct vsock_dev *v, struct vsock_conn *c, int fd);
/* Wait for data: a 1-byte MSG_PEEK receive into c->peek. */
int vsock_uds_peek(struct vsock_dev *v, struct vsock_conn *c);
void vsock_uds_destroy(struct vsock_dev *v);
/* Guest-initiated: connect the slot's new socket to <uds_path>_<port>. */
int vsock_uds_connect(struct vsock_dev *v, struct vsock_conn *c);
int vsock_uds_recv(struct vsock_dev *v, struct vsock_conn *c, void *buf, uint32_t len);
int vsock_uds_send(struct vsock_dev *v, struct vsock_conn *c, const void *buf, uint32_t len);
int vsock_uds_shut_wr(struct vsock_dev *v, struct vsock_conn *c);
/* Cancel the connection's I/O in flight and remove its socket: at once, or
 * when the shutdown still in flight has run (it finds the socket by slot). */
void vsock_uds_release(struct vsock_dev *v, struct vsock_conn *c);
/* Any thread: wake the vmm thread's completion handler (write(2) only). */
void vsock_uds_wake(struct vsock_dev *v);
/* Submit what is queued and handle completions; how many were handled. */
unsigned int vsock_uds_kick(struct vsock_dev *v);
/* A connection entered a timed state: make sure the timer will fire. */
void vsock_uds_arm_timer(struct vsock_dev *v, uint64_t deadline_us);

/* vsock_host.c: the listener, the descriptor limit and the handshake. */
/* Bind and listen on `path` (a stale socket there is unlinked first). */
int vsock_host_listen(struct vsock_dev *v, const char *path);
/* The connection limit RLIMIT_NOFILE allows (raising the soft limit if
 * needed); 0 if not even one connection fits. */
unsigned int vsock_host_conn_limit(struct vsock_dev *v);
/* The listener accepted `fd`: start reading its CONNECT line. */
void vsock_host_accepted(struct vsock_dev *v, int fd);
/* Bytes of the CONNECT line arrived (res: count or -errno). */
void vsock_host_line(struct vsock_dev *v, struct vsock_conn *c, int res);
/* Parse "CONNECT <port>" (no newline): the keyword in any case, spaces or
 * tabs between the words, optional trailing blanks and '\r'; a decimal
 * port that fits 32 bits.  0 and *port, or -EINVAL. */
int vsock_parse_connect(const char *line, uint32_t len, uint32_t *port);

#endif
