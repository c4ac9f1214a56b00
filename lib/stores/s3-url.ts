/**
 * `s3://BUCKET[/PREFIX]?region=…&endpoint=…&scheme=…&profile=…`: an S3 binary cache the way Nix
 * spells it (Nix's S3 store settings `region` (default us-east-1), `endpoint` (an S3-compatible
 * server), `scheme` (http or https, for an endpoint given without one) and `profile` (the AWS
 * config profile)). Nix's other S3 settings (`narinfo-compression`, `multipart-upload`, …) are about
 * uploading new paths and are accepted and ignored. Parsing touches no network and loads no SDK.
 */
import { NarsignError } from '../errors';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing '/', '' for the bucket's top level. */
  prefix: string;
  region: string;
  /** `http(s)://host[:port][/path]`, without user-info; undefined for AWS itself. */
  endpoint?: string;
  profile?: string;
}

/** Nix settings of S3 stores that do not change how narsign reads or replaces narinfos. */
const IGNORED_PARAMS = new Set([
  'narinfo-compression', 'ls-compression', 'log-compression', 'compression', 'compression-level',
  'multipart-upload', 'multipart-chunk-size', 'multipart-threshold', 'buffer-size', 'parallel-compression',
  'write-nar-listing', 'index-debug-info', 'secret-key', 'secret-keys', 'want-mass-query', 'priority',
  'trusted', 'local-nar-cache', 'path-info-cache-size', 'compression-level', 'addressing-style',
]);

// Bucket names as S3 allows them (legacy buckets also had capitals and underscores; RGW allows them).
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

function urlError(message: string): NarsignError {
  return new NarsignError('ERR_S3_URL', message);
}

/**
 * Parses an `s3://` URL. Errors never quote user-info or query values that may hold secrets: they
 * name the part that is wrong instead.
 */
export function parseS3Url(text: string): S3Location {
  if (typeof text !== 'string') throw urlError('an S3 URL must be a string');
  if (!text.startsWith('s3://')) throw urlError("an S3 URL starts with 's3://'");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw urlError('the S3 URL is not a valid URL');
  }
  if (url.username || url.password) throw urlError('an S3 URL takes no user-info (credentials come from the AWS credential chain)');
  if (url.port) throw urlError('an S3 URL names a bucket, not a host and port: use endpoint=HOST:PORT');
  const bucket = decodeURIComponent(url.hostname);
  if (!BUCKET.test(bucket)) throw urlError(`'${bucket.slice(0, 80)}' is not a valid S3 bucket name`);
  // The URL parser folds '.' and '..' away (s3://b/../x would become prefix 'x'): look at the text.
  const rawPath = text.slice('s3://'.length).split(/[?#]/)[0].replace(/^[^/]*/, '');
  let decodedPath: string;
  try {
    decodedPath = decodeURIComponent(rawPath);
  } catch {
    throw urlError('the S3 prefix is not valid percent-encoding');
  }
  if (decodedPath.split('/').some((part) => part === '.' || part === '..')) throw urlError("an S3 prefix has no '.' or '..' parts");
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  const location: S3Location = { bucket, prefix, region: 'us-east-1' };
  let scheme: string | undefined;
  let endpoint: string | undefined;
  for (const [key, value] of url.searchParams) {
    if (key === 'region') {
      if (!/^[a-z0-9-]{1,64}$/.test(value)) throw urlError('region must be an AWS region name like us-east-1');
      location.region = value;
    } else if (key === 'endpoint') endpoint = value;
    else if (key === 'scheme') {
      if (value !== 'http' && value !== 'https') throw urlError("scheme must be 'http' or 'https'");
      scheme = value;
    } else if (key === 'profile') {
      if (!/^[A-Za-z0-9_.@+-]{1,128}$/.test(value)) throw urlError('profile must be an AWS profile name');
      if (value !== '') location.profile = value;
    } else if (!IGNORED_PARAMS.has(key)) throw urlError(`unknown S3 store setting '${key.slice(0, 64)}'`);
  }
  if (endpoint !== undefined && endpoint !== '') location.endpoint = endpointUrl(endpoint, scheme);
  return location;
}

/** `HOST[:PORT]` (with `scheme`, default https) or a full `http(s)://` URL, with no user-info. */
function endpointUrl(value: string, scheme: string | undefined): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `${scheme ?? 'https'}://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw urlError('endpoint must be HOST[:PORT] or an http(s) URL');
  }
  if (url.username || url.password || /@/.test(value)) throw urlError('endpoint must not contain user-info (credentials come from the AWS credential chain)');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw urlError('endpoint must be an http or https URL');
  if (url.search || url.hash) throw urlError('endpoint must not have a query or fragment');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** The store as messages name it: the URL without anything secret. */
export function describeS3Location(location: S3Location): string {
  const path = location.prefix ? `/${location.prefix}` : '';
  const endpoint = location.endpoint ? ` at ${location.endpoint}` : '';
  return `s3://${location.bucket}${path}${endpoint}`;
}
