// Building image addresses from the Manager's last-rendered info.

/** info: {base, suffixes}; size: "small", "tiny" or "" for the full-size image. */
export function imageUrl(info, size, version = 0) {
  if (!info || !info.base || !info.suffixes?.length) return '';
  const wanted = size ? `-${size}.` : null;
  const suffix =
    (wanted && info.suffixes.find((candidate) => candidate.includes(wanted))) ||
    info.suffixes.find((candidate) => !/-(small|tiny)\./.test(candidate)) ||
    info.suffixes[0];
  const base = info.base.endsWith('/') ? info.base : `${info.base}/`;
  // The file names stay the same for every new image, so defeat the browser cache.
  return `${base}${suffix}?v=${version}`;
}
