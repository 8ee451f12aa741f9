/**
 * A throwaway MySQL database on the local MariaDB for one test file. Under CI=true an unreachable
 * server is a failure, never a skip; elsewhere the MySQL suites skip with the reason.
 */
import {createConnection} from 'mysql2/promise'

export const MYSQL_ADMIN_URL = process.env.LIVECTL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'

export async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await createConnection({uri: MYSQL_ADMIN_URL, connectTimeout: 2000})
    await connection.end()
    return true
  } catch {
    return false
  }
}

/** True when the MySQL suites must run: the server answers, or CI demands it (and the suite then fails). */
export const runMysqlSuites = (await mysqlReachable()) || Boolean(process.env.CI && process.env.CI !== 'false')

export async function createTestDatabase(): Promise<{url: string; drop: () => Promise<void>}> {
  const name = `livectl_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = await createConnection({uri: MYSQL_ADMIN_URL, connectTimeout: 5000})
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  await admin.end()
  const url = new URL(MYSQL_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const connection = await createConnection({uri: MYSQL_ADMIN_URL})
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await connection.end()
    },
  }
}
