/* offload.h - userspace segmentation and coalescing for a TUN device with
 * IFF_VNET_HDR and TUNSETOFFLOAD (TSO4/TSO6/USO/checksum):
 *
 * - A read from such a device yields a struct virtio_net_hdr and a packet
 *   that may be a TCP (or UDP) "super-packet" of up to 64 KB; before
 *   encryption it is split into segments of at most gso_size payload bytes,
 *   each a complete IP packet with correct lengths, IDs, sequence numbers and
 *   checksums (offload_split).
 * - Received segments of one TCP flow are merged back into one super-packet
 *   with a virtio_net_hdr before one write to the device (offload_coalesce),
 *   so the kernel's TCP stack sees few large packets.
 *
 * Nothing here allocates; the caller owns every buffer. */
#ifndef FERRY_OFFLOAD_H
#define FERRY_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* USO, Linux 6.2; older headers lack the constant. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define OFFLOAD_MAX_SEGMENTS 128 /* 64 KB / 512-byte segments */
#define VNET_HDR_LEN	     sizeof(struct virtio_net_hdr)

/* Split the packet @pkt of @len bytes (IP header first) that came with @h.
 * Segment i is written to out + i * stride (stride must hold the largest
 * segment: headers + gso_size) and its length stored in lens[i]. A packet
 * without GSO is copied as one segment, its checksum completed if the
 * header says VIRTIO_NET_HDR_F_NEEDS_CSUM. Returns the number of segments,
 * or -EINVAL for a malformed packet or header, -ENOSPC if more than
 * @max_segs segments would be needed, -EOPNOTSUPP for an unknown gso_type. */
int offload_split(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out, size_t stride,
		  size_t *lens, int max_segs);

/* The longest link-layer header a TAP frame may carry before its IP
 * header: Ethernet and two VLAN tags. */
#define OFFLOAD_MAX_L2 22

/* The size of each merge buffer given to offload_coalesce(). */
#define OFFLOAD_MERGE_BUF_LEN (VNET_HDR_LEN + 65535)

/* One decrypted packet on its way to the TUN (or TAP) device. */
struct offload_packet {
	uint8_t *data;	 /* VNET_HDR_LEN bytes before it are writable */
	size_t len;	 /* of all of it, link-layer header included */
	uint16_t l2_len; /* TAP: the Ethernet header before the IP header; 0 for TUN */
};

/* One write for the TUN device, virtio_net_hdr first: either a packet of
 * the batch in place (buf points VNET_HDR_LEN before its data), or a
 * super-packet built in one of the caller's merge buffers. */
struct offload_write {
	uint8_t *buf;
	size_t len; /* VNET_HDR_LEN + packet */
};

/* Coalesce the @n packets of @in (in arrival order): consecutive TCP
 * segments of one flow (same addresses and ports, contiguous sequence
 * numbers, equal-sized payloads but for a shorter last one, ACK set and no
 * SYN/FIN/RST/URG, PSH only on the last, identical IP header fields and TCP
 * options) become one super-packet of at most 64 KB with GSO_TCPV4/6 and
 * NEEDS_CSUM; every other packet is written as it is with a zero
 * virtio_net_hdr (checksum already complete). A merged write, link-layer
 * header included, is at most 65535 bytes after its virtio_net_hdr.
 * @merge_bufs are @n_merge buffers of OFFLOAD_MERGE_BUF_LEN bytes each. Fills @out in an order that
 * keeps each flow's packets in their arrival order; returns the number of
 * writes (at most @n). */
int offload_coalesce(struct offload_packet *in, int n, uint8_t **merge_bufs, int n_merge, struct offload_write *out);

#endif
