/** `/t/{tenant}{rest}`: the tenant segment (still URL-encoded) and the rest of the path. */
export const tenantPath = /^\/t\/([^/?]+)(\/[^?]*)?/;
