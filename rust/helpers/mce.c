// SPDX-License-Identifier: GPL-2.0

#include <linux/memremap.h>
#include <linux/mm.h>

/*
 * Whether a page frame has a struct page of ZONE_DEVICE memory. pfn_valid()
 * first: a frame of persistent memory mapped without a memory map has no
 * struct page to look at.
 */
__rust_helper bool rust_helper_pfn_is_zone_device(unsigned long pfn)
{
	return pfn_valid(pfn) && is_zone_device_page(pfn_to_page(pfn));
}
