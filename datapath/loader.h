/* Loading, pinning and attaching the node's TC programs. Loaded once per
 * node (by the daemon; by test tools until it exists), pinned under a bpffs
 * root; the CNI plugin only attaches what is pinned. */
#ifndef BH_DATAPATH_LOADER_H
#define BH_DATAPATH_LOADER_H

#include <stdbool.h>
#include "datapath/dp.h"

struct dp_load_result {
	bool reused;		/* pinned programs matched; nothing was loaded */
	bool maps_reused;	/* at least one map was already pinned */
	unsigned int version;	/* fingerprint of the programs now pinned */
};

/* Makes sure ROOT holds this build's programs and every map, pinned.
 * Mounts bpffs at /sys/fs/bpf when nothing is mounted there. Maps already
 * pinned are reused with their contents (never flushed); programs already
 * pinned with this build's fingerprint are kept as they are, without
 * loading anything. Otherwise the programs are loaded against the pinned
 * maps, pinned in place of the old ones, and every interface that had the
 * old ones attached is switched over atomically. Writes the default
 * config the first time. Verifier output goes to the error on failure. */
int dp_load(const char *root, struct dp_load_result *res, struct dp_err *err);

/* Removes ROOT's pins (programs and maps) and the directories. Interfaces
 * that still have the programs attached keep them until they are detached
 * or deleted. Succeeds when nothing is pinned. */
int dp_unload(const char *root, struct dp_err *err);

/* True when ROOT has every program and the config map pinned. */
bool dp_loaded(const char *root);

/* Attaches the pinned programs to ifindex in the caller's network
 * namespace: clsact qdisc (created when absent), from-container on ingress,
 * to-container on egress, at BH_TC_PRIORITY/BH_TC_HANDLE, replacing what
 * sits there. -ENOENT with a message naming the root when nothing is
 * loaded. */
int dp_attach(const char *root, int ifindex, struct dp_err *err);

/* Attaches the pinned overlay program to the tc ingress of ifindex (the
 * node's VXLAN device, external mode) in the caller's network namespace,
 * the same way: clsact created when absent, BH_TC_PRIORITY/BH_TC_HANDLE,
 * replacing what sits there. dp_load switches it over on an upgrade like
 * the host veths' programs. */
int dp_attach_overlay(const char *root, int ifindex, struct dp_err *err);

/* Removes our filters (ingress and egress) from ifindex, a host veth or
 * the VXLAN device; succeeds when they are absent or the interface is
 * gone. */
int dp_detach(int ifindex, struct dp_err *err);

/* 0 when ifindex has ROOT's pinned programs attached in both directions;
 * -ENOENT with a message saying which one is missing or different. */
int dp_check_attached(const char *root, int ifindex, struct dp_err *err);

/* The same for the VXLAN device: 0 when ROOT's pinned overlay program runs
 * on its ingress. */
int dp_check_overlay(const char *root, int ifindex, struct dp_err *err);

#endif
