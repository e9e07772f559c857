// Where a Redis is, and how it is shown in logs (never with its password).

/**
 * Where Redis is: a URL, or Redis Sentinel (the sentinels and the name of the primary they watch), through
 * which the connection follows a failover to the promoted replica.
 */
export type RedisTarget = string | { sentinels: ReadonlyArray<{ host: string; port: number }>; name: string };

/** For logs: the URL without its password, or the sentinels and the name. */
export function describeRedisTarget(target: RedisTarget): string {
  if (typeof target === 'string') return redactUrl(target);
  return `'${target.name}' through sentinels ${target.sentinels.map(({ host, port }) => `${host}:${port}`).join(',')}`;
}

/** user:password@ before the host (the last @ ends it, as in WHATWG URLs and so for ioredis). */
const USERINFO_PASSWORD = /^([^/?#]*\/\/[^/?#:]*):[^/?#]*@/;
/** A query parameter: ioredis takes each as a connection option (?password=, ?sentinelPassword=). */
const QUERY_PARAMETER = /([?&])([^=&#]*)=([^&#]*)/g;

/** A URL for logs: any password in it, in the userinfo or a query parameter, is replaced; nothing else changes. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const beforeQuery = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  return (
    beforeQuery.replace(USERINFO_PASSWORD, '$1:***@') +
    query.replace(QUERY_PARAMETER, (parameter: string, separator: string, name: string, value: string) =>
      value !== '' && /password/i.test(decodedName(name)) ? `${separator}${name}=***` : parameter,
    )
  );
}

/** The name ioredis sees (URLSearchParams decodes it). */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
