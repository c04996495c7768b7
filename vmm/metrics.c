// SPDX-License-Identifier: Apache-2.0
/* metrics.c - see metrics.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "vmm/core/log.h"

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->timer.fd = -1;
}

int metrics_add_source(struct metrics *m, metrics_emit_fn emit, void *opaque)
{
	if (m->nr_sources == METRICS_MAX_SOURCES)
		return -ENOSPC;
	m->sources[m->nr_sources++] = (struct metrics_source){ .emit = emit, .opaque = opaque };
	return 0;
}

void metrics_set_tags(struct metrics *m, json_t *tags)
{
	json_decref(m->tags);
	m->tags = tags;
}

bool metrics_is_open(const struct metrics *m)
{
	return m->fd >= 0;
}

static void on_metrics_timer(struct ev_source *src, uint32_t events)
{
	struct metrics *m = src->opaque;
	char err[128];
	uint64_t ticks;

	(void)events;
	if (read(src->fd, &ticks, sizeof(ticks)) > 0 && metrics_flush(m, err, sizeof(err)))
		log_ratelimited(LOG_WARN, "%s", err);
}

int metrics_open(struct metrics *m, struct ev_loop *loop, const char *path, char *err,
		 size_t errlen)
{
	struct itimerspec period = { .it_interval.tv_sec = METRICS_PERIOD_S,
				     .it_value.tv_sec = METRICS_PERIOD_S };
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, errlen, "metrics: cannot open '%s': %s", path, strerror(errno));
		return -errno;
	}
	m->timer = (struct ev_source){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
				       .cb = on_metrics_timer, .opaque = m };
	if (m->timer.fd < 0 || timerfd_settime(m->timer.fd, 0, &period, NULL) ||
	    ev_add(loop, &m->timer, EPOLLIN)) {
		snprintf(err, errlen, "metrics: cannot arm the flush timer: %s", strerror(errno));
		if (m->timer.fd >= 0)
			close(m->timer.fd);
		m->timer.fd = -1;
		close(fd);
		return -EIO;
	}
	m->loop = loop;
	m->fd = fd;
	return 0;
}

int metrics_flush(struct metrics *m, char *err, size_t errlen)
{
	struct timespec ts;
	json_t *root;
	char *line;
	ssize_t n;
	size_t len;

	if (m->fd < 0)
		return 0;
	root = json_object();
	if (!root)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(root, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	if (m->tags)
		json_object_update(root, m->tags);
	for (unsigned int i = 0; i < m->nr_sources; i++)
		m->sources[i].emit(m->sources[i].opaque, root);
	json_object_set_new(root, "metrics", json_pack("{sI sI}", "lines_written",
			    (json_int_t)m->lines_written, "lines_dropped", (json_int_t)m->lines_dropped));
	line = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n';  /* replaces the NUL: written by length */
	n = write(m->fd, line, len);
	free(line);
	if (n != (ssize_t)len) {
		m->lines_dropped++;
		snprintf(err, errlen, "metrics: line dropped: %s",
			 n < 0 ? strerror(errno) : "short write");
		return n < 0 ? -errno : -EIO;
	}
	m->lines_written++;
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (m->timer.fd >= 0) {
		if (m->loop)
			ev_del(m->loop, &m->timer);
		close(m->timer.fd);
	}
	if (m->fd >= 0)
		close(m->fd);
	m->timer.fd = m->fd = -1;
	metrics_set_tags(m, NULL);
}
