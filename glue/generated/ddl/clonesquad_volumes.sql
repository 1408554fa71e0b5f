-- clonesquad_volumes: One line per EBS volume attached to a managed instance.
-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:
--   npx clonesquad-backup generate ddl s3://bucket/prefix
-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/volumes/.
-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:
--   MSCK REPAIR TABLE `default`.`clonesquad_volumes`;
-- (run it after each export that adds a deployment, or schedule it).
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_volumes` (
  `volumeid` string,
  `volumearn` string,
  `volumetype` string,
  `size` bigint,
  `iops` bigint,
  `throughput` bigint,
  `state` string,
  `createtime` timestamp,
  `availabilityzone` string,
  `availabilityzoneid` string,
  `outpostarn` string,
  `snapshotid` string,
  `sourcevolumeid` string,
  `encrypted` boolean,
  `kmskeyid` string,
  `ssetype` string,
  `fastrestored` boolean,
  `multiattachenabled` boolean,
  `volumeinitializationrate` bigint,
  `ownerid` string,
  `operator` struct<`managed`:boolean,`principal`:string,`hiddenbydefault`:boolean>,
  `attachments` array<struct<`volumeid`:string,`instanceid`:string,`device`:string,`state`:string,`attachtime`:timestamp,`deleteontermination`:boolean,`associatedresource`:string,`instanceowningservice`:string,`ebscardindex`:bigint>>,
  `tags` array<struct<`key`:string,`value`:string>>,
  `metadatarecordlastupdatedat` timestamp
)
COMMENT 'One line per EBS volume attached to a managed instance'
PARTITIONED BY (
  `accountid` string,
  `region` string,
  `groupname` string
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/volumes/'
TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');
