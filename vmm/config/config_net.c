// SPDX-License-Identifier: Apache-2.0
/*
 * config_net.c - the "network-interfaces" section (config file, PUT and
 * PATCH /network-interfaces/{id}): host device and guest MAC unique across
 * interfaces, the MTU offered to the guest, rate limiters.  See config.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_section.h"
#include "vmm/core/json.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
				      &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static struct net_cfg *find_net(struct devices_cfg *d, const char *id)
{
	for (unsigned int i = 0; i < d->nr_nets; i++)
		if (!strcmp(d->nets[i].id, id))
			return &d->nets[i];
	return NULL;
}

static int net_check_unique(struct devices_cfg *d, const struct net_cfg *n,
			    const struct net_cfg *self, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < d->nr_nets; i++) {
		const struct net_cfg *o = &d->nets[i];

		if (o == self)
			continue;
		if (!strcmp(o->host_dev, n->host_dev))
			return fail(err, errlen, "network-interfaces: host device '%s' is already used by '%s'",
				    n->host_dev, o->id);
		if (n->has_mac && o->has_mac && !memcmp(o->mac, n->mac, 6))
			return fail(err, errlen, "network-interfaces: guest MAC is already used by '%s'",
				    o->id);
	}
	return 0;
}

static int net_from_json(struct net_cfg *n, json_t *obj, char *err, size_t errlen)
{
	json_t *v;
	int ret = 0;

	if ((v = json_object_get(obj, "host_dev_name"))) {
		n->host_dev = (char *)json_string_value(v);
		if (!*n->host_dev || strlen(n->host_dev) >= 16)
			return fail(err, errlen, "network-interfaces: 'host_dev_name' must be 1-15 characters");
	}
	if ((v = json_object_get(obj, "guest_mac"))) {
		if (parse_mac(json_string_value(v), n->mac))
			return fail(err, errlen, "network-interfaces: 'guest_mac' must look like 06:00:ac:10:00:02");
		n->has_mac = true;
	}
	if ((v = json_object_get(obj, "mtu"))) {
		json_int_t mtu = json_integer_value(v);

		if (mtu < NET_MTU_MIN || mtu > NET_MTU_MAX)
			return fail(err, errlen, "network-interfaces: 'mtu' must be %d to %d, not %lld",
				    NET_MTU_MIN, NET_MTU_MAX, (long long)mtu);
		n->mtu = (uint16_t)mtu;
	}
	if ((v = json_object_get(obj, "rx_rate_limiter")))
		ret = config_parse_rate_limiter("network-interfaces.rx_rate_limiter", v, &n->rx, err, errlen);
	if (!ret && (v = json_object_get(obj, "tx_rate_limiter")))
		ret = config_parse_rate_limiter("network-interfaces.tx_rate_limiter", v, &n->tx, err, errlen);
	return ret;
}

int config_put_net(struct vm_config *cfg, const char *path_id, json_t *obj, bool patch,
		   char *err, size_t errlen)
{
	static const struct json_field fields[] = {
		{ "iface_id", JSON_STRING, true },
		{ "host_dev_name", JSON_STRING, true },
		{ "guest_mac", JSON_STRING, false },
		{ "mtu", JSON_INTEGER, false },
		{ "rx_rate_limiter", JSON_OBJECT, false },
		{ "tx_rate_limiter", JSON_OBJECT, false },
	};
	struct devices_cfg *d = &cfg->devs;
	struct net_cfg *old, n = { 0 };
	const char *id;
	int ret = json_check_fields("network-interfaces", obj, fields, 6, patch, err, errlen);

	if (!ret)
		ret = config_resolve_id("network-interfaces", "iface_id", path_id, obj, &id, err, errlen);
	if (ret)
		return ret;
	old = find_net(d, id);
	if (patch && !old)
		return fail(err, errlen, "network-interfaces: no interface '%s' to update", id);
	if (patch && (json_object_get(obj, "host_dev_name") || json_object_get(obj, "guest_mac") ||
		      json_object_get(obj, "mtu")))
		return fail(err, errlen, "network-interfaces: PATCH may change only the rate limiters");
	if (patch)
		n = *old;
	ret = net_from_json(&n, obj, err, errlen);
	if (!ret)
		ret = net_check_unique(d, &n, old, err, errlen);
	if (ret)
		return ret;
	if (!old && d->nr_nets == CONFIG_MAX_NETS)
		return fail(err, errlen, "network-interfaces: at most %d interfaces", CONFIG_MAX_NETS);
	n.id = strdup(id);
	n.host_dev = strdup(n.host_dev);
	if (!old)
		old = &d->nets[d->nr_nets++];
	free(old->id);
	free(old->host_dev);
	*old = n;
	return 0;
}

void config_nets_free(struct devices_cfg *d)
{
	for (unsigned int i = 0; i < d->nr_nets; i++) {
		free(d->nets[i].id);
		free(d->nets[i].host_dev);
	}
	d->nr_nets = 0;
}

json_t *config_nets_to_json(const struct devices_cfg *d)
{
	json_t *arr = json_array();

	for (unsigned int i = 0; i < d->nr_nets; i++) {
		const struct net_cfg *n = &d->nets[i];
		json_t *o = json_pack("{ss ss so so}", "iface_id", n->id, "host_dev_name",
				      n->host_dev, "rx_rate_limiter", config_rate_limiter_to_json(&n->rx),
				      "tx_rate_limiter", config_rate_limiter_to_json(&n->tx));
		char mac[18];

		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
				 n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
			json_object_set_new(o, "guest_mac", json_string(mac));
		}
		if (n->mtu)
			json_object_set_new(o, "mtu", json_integer(n->mtu));
		json_array_append_new(arr, o);
	}
	return arr;
}
