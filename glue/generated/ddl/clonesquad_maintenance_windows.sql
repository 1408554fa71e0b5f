-- clonesquad_maintenance_windows: One line per fleet with the SSM maintenance windows that apply to it.
-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:
--   npx clonesquad-backup generate ddl s3://bucket/prefix
-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/maintenance-windows/.
-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:
--   MSCK REPAIR TABLE `default`.`clonesquad_maintenance_windows`;
-- (run it after each export that adds a deployment, or schedule it).
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_maintenance_windows` (
  `fleet` string,
  `maintenancewindows` array<struct<`windowid`:string,`name`:string,`description`:string,`enabled`:boolean,`duration`:bigint,`cutoff`:bigint,`schedule`:string,`scheduletimezone`:string,`scheduleoffset`:bigint,`startdate`:timestamp,`enddate`:timestamp,`nextexecutiontime`:timestamp,`tags`:array<struct<`key`:string,`value`:string>>>>,
  `ismaintenancetime` boolean,
  `nextmaintenancewindowdetails` struct<`starttime`:timestamp,`endtime`:timestamp,`matchingwindow`:struct<`windowid`:string,`name`:string,`description`:string,`enabled`:boolean,`duration`:bigint,`cutoff`:bigint,`schedule`:string,`scheduletimezone`:string,`scheduleoffset`:bigint,`startdate`:timestamp,`enddate`:timestamp,`nextexecutiontime`:timestamp,`tags`:array<struct<`key`:string,`value`:string>>,`_activeperiod`:boolean,`_starttime`:timestamp,`_endtime`:timestamp,`_futurenextexecutiontime`:timestamp>,`matchingwindowmessage`:string,`nextwindowmessage`:string>,
  `metadatarecordlastupdatedat` timestamp
)
COMMENT 'One line per fleet with the SSM maintenance windows that apply to it'
PARTITIONED BY (
  `accountid` string,
  `region` string,
  `groupname` string
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/maintenance-windows/'
TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');
