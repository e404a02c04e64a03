-- sqlite.sql - a workload for sqlite3 whose output is the same on every
-- run: 200000 rows from a recursive CTE, an index, aggregates, a join,
-- an update, a transaction rolled back, VACUUM and an integrity check.
PRAGMA journal_mode = WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO t SELECT i, (i * 7919) % 1000, printf('value-%08d', i) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(k), min(v), max(v) FROM t;
SELECT k, count(*) FROM t WHERE k < 5 GROUP BY k ORDER BY k;
CREATE TABLE u AS SELECT k, avg(id) AS a FROM t GROUP BY k;
SELECT count(*), printf('%.3f', sum(a)) FROM u JOIN t USING (k) WHERE t.id % 1000 = 0;
UPDATE t SET v = upper(v) WHERE id % 3 = 0;
SELECT count(*) FROM t WHERE v GLOB 'VALUE-*';
BEGIN;
DELETE FROM t WHERE id > 1000;
SELECT count(*) FROM t;
ROLLBACK;
SELECT count(*) FROM t;
PRAGMA wal_checkpoint(TRUNCATE);
VACUUM;
PRAGMA integrity_check;
SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY v DESC LIMIT 3);
