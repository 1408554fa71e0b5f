-- clonesquad_instances: One line per EC2 instance managed by CloneSquad.
-- Generated from shared/catalog/schema.ts by glue/ddl.ts; do not edit. Print it for your path with:
--   npx clonesquad-backup generate ddl s3://bucket/prefix
-- Run it in Athena with LOCATION = MetadataAndBackupS3Path + /metadata/instances/.
-- Without the catalog stack's crawler, Athena sees a new deployment's partitions only after:
--   MSCK REPAIR TABLE `default`.`clonesquad_instances`;
-- (run it after each export that adds a deployment, or schedule it).
CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_instances` (
  `instanceid` string,
  `imageid` string,
  `instancetype` string,
  `state` struct<`code`:bigint,`name`:string>,
  `statereason` struct<`code`:string,`message`:string>,
  `statetransitionreason` string,
  `launchtime` timestamp,
  `tags` array<struct<`key`:string,`value`:string>>,
  `architecture` string,
  `platform` string,
  `platformdetails` string,
  `usageoperation` string,
  `usageoperationupdatetime` timestamp,
  `virtualizationtype` string,
  `hypervisor` string,
  `bootmode` string,
  `currentinstancebootmode` string,
  `tpmsupport` string,
  `kernelid` string,
  `ramdiskid` string,
  `keyname` string,
  `amilaunchindex` bigint,
  `clienttoken` string,
  `instancelifecycle` string,
  `spotinstancerequestid` string,
  `capacityblockid` string,
  `capacityreservationid` string,
  `capacityreservationspecification` struct<`capacityreservationpreference`:string,`capacityreservationtarget`:struct<`capacityreservationid`:string,`capacityreservationresourcegrouparn`:string>>,
  `outpostarn` string,
  `placement` struct<`availabilityzoneid`:string,`affinity`:string,`groupname`:string,`partitionnumber`:bigint,`hostid`:string,`tenancy`:string,`spreaddomain`:string,`hostresourcegrouparn`:string,`groupid`:string,`availabilityzone`:string>,
  `monitoring` struct<`metriccategoryids`:array<string>,`state`:string>,
  `iaminstanceprofile` struct<`arn`:string,`id`:string>,
  `productcodes` array<string>,
  `licenses` array<struct<`licenseconfigurationarn`:string>>,
  `rootdevicename` string,
  `rootdevicetype` string,
  `blockdevicemappings` array<struct<`devicename`:string,`ebs`:struct<`attachtime`:timestamp,`deleteontermination`:boolean,`status`:string,`volumeid`:string,`associatedresource`:string,`volumeownerid`:string,`operator`:struct<`managed`:boolean,`principal`:string,`hiddenbydefault`:boolean>,`ebscardindex`:bigint>>>,
  `ebsoptimized` boolean,
  `enasupport` boolean,
  `sriovnetsupport` string,
  `sourcedestcheck` boolean,
  `vpcid` string,
  `subnetid` string,
  `privatednsname` string,
  `privateipaddress` string,
  `publicdnsname` string,
  `publicipaddress` string,
  `ipv6address` string,
  `securitygroups` array<struct<`groupid`:string,`groupname`:string>>,
  `networkinterfaces` array<struct<`association`:struct<`carrierip`:string,`customerownedip`:string,`ipownerid`:string,`publicdnsname`:string,`publicip`:string>,`attachment`:struct<`attachtime`:timestamp,`attachmentid`:string,`deleteontermination`:boolean,`deviceindex`:bigint,`status`:string,`networkcardindex`:bigint,`enasrdspecification`:struct<`enasrdenabled`:boolean,`enasrdudpspecification`:struct<`enasrdudpenabled`:boolean>>,`enaqueuecount`:bigint>,`description`:string,`groups`:array<struct<`groupid`:string,`groupname`:string>>,`ipv6addresses`:array<string>,`macaddress`:string,`networkinterfaceid`:string,`ownerid`:string,`privatednsname`:string,`privateipaddress`:string,`privateipaddresses`:array<struct<`association`:struct<`carrierip`:string,`customerownedip`:string,`ipownerid`:string,`publicdnsname`:string,`publicip`:string>,`primary`:boolean,`privatednsname`:string,`privateipaddress`:string>>,`sourcedestcheck`:boolean,`status`:string,`subnetid`:string,`vpcid`:string,`interfacetype`:string,`ipv4prefixes`:array<struct<`ipv4prefix`:string>>,`ipv6prefixes`:array<struct<`ipv6prefix`:string>>,`connectiontrackingconfiguration`:struct<`tcpestablishedtimeout`:bigint,`udpstreamtimeout`:bigint,`udptimeout`:bigint>,`operator`:struct<`managed`:boolean,`principal`:string,`hiddenbydefault`:boolean>,`_ipv6addresses`:array<struct<`ipv6address`:string,`isprimaryipv6`:boolean>>>>,
  `secondaryinterfaces` array<struct<`attachment`:struct<`attachtime`:timestamp,`attachmentid`:string,`deleteontermination`:boolean,`deviceindex`:bigint,`status`:string,`networkcardindex`:bigint>,`macaddress`:string,`secondaryinterfaceid`:string,`ownerid`:string,`privateipaddresses`:array<struct<`privateipaddress`:string>>,`sourcedestcheck`:boolean,`status`:string,`secondarysubnetid`:string,`secondarynetworkid`:string,`interfacetype`:string>>,
  `networkperformanceoptions` struct<`bandwidthweighting`:string>,
  `privatednsnameoptions` struct<`hostnametype`:string,`enableresourcenamednsarecord`:boolean,`enableresourcenamednsaaaarecord`:boolean>,
  `elasticgpuassociations` array<struct<`elasticgpuid`:string,`elasticgpuassociationid`:string,`elasticgpuassociationstate`:string,`elasticgpuassociationtime`:string>>,
  `elasticinferenceacceleratorassociations` array<struct<`elasticinferenceacceleratorarn`:string,`elasticinferenceacceleratorassociationid`:string,`elasticinferenceacceleratorassociationstate`:string,`elasticinferenceacceleratorassociationtime`:timestamp>>,
  `cpuoptions` struct<`corecount`:bigint,`threadspercore`:bigint,`amdsevsnp`:string,`nestedvirtualization`:string>,
  `hibernationoptions` struct<`configured`:boolean>,
  `metadataoptions` struct<`state`:string,`httptokens`:string,`httpputresponsehoplimit`:bigint,`httpendpoint`:string,`httpprotocolipv6`:string,`instancemetadatatags`:string>,
  `enclaveoptions` struct<`enabled`:boolean>,
  `maintenanceoptions` struct<`autorecovery`:string,`rebootmigration`:string>,
  `operator` struct<`managed`:boolean,`principal`:string,`hiddenbydefault`:boolean>,
  `_productcodes` array<struct<`productcodeid`:string,`productcodetype`:string>>,
  `_hostname` string,
  `_subfleetname` string,
  `_laststartattempttime` timestamp,
  `_instancetype` struct<`instancetype`:string,`currentgeneration`:boolean,`freetiereligible`:boolean,`supportedusageclasses`:array<string>,`supportedrootdevicetypes`:array<string>,`supportedvirtualizationtypes`:array<string>,`baremetal`:boolean,`hypervisor`:string,`processorinfo`:struct<`supportedarchitectures`:array<string>,`sustainedclockspeedinghz`:double,`supportedfeatures`:array<string>,`manufacturer`:string>,`vcpuinfo`:struct<`defaultvcpus`:bigint,`defaultcores`:bigint,`defaultthreadspercore`:bigint,`validcores`:array<bigint>,`validthreadspercore`:array<bigint>>,`memoryinfo`:struct<`sizeinmib`:bigint>,`instancestoragesupported`:boolean,`instancestorageinfo`:struct<`totalsizeingb`:bigint,`disks`:array<struct<`sizeingb`:bigint,`count`:bigint,`type`:string>>,`nvmesupport`:string,`encryptionsupport`:string>,`ebsinfo`:struct<`ebsoptimizedsupport`:string,`encryptionsupport`:string,`ebsoptimizedinfo`:struct<`baselinebandwidthinmbps`:bigint,`baselinethroughputinmbps`:double,`baselineiops`:bigint,`maximumbandwidthinmbps`:bigint,`maximumthroughputinmbps`:double,`maximumiops`:bigint>,`nvmesupport`:string,`maximumebsattachments`:bigint,`attachmentlimittype`:string,`maximumebscards`:bigint,`ebscards`:array<struct<`ebscardindex`:bigint,`baselinebandwidthinmbps`:bigint,`baselinethroughputinmbps`:double,`baselineiops`:bigint,`maximumbandwidthinmbps`:bigint,`maximumthroughputinmbps`:double,`maximumiops`:bigint>>>,`networkinfo`:struct<`networkperformance`:string,`maximumnetworkinterfaces`:bigint,`maximumnetworkcards`:bigint,`defaultnetworkcardindex`:bigint,`networkcards`:array<struct<`networkcardindex`:bigint,`networkperformance`:string,`maximumnetworkinterfaces`:bigint,`additionalflexiblenetworkinterfaces`:bigint,`baselinebandwidthingbps`:double,`peakbandwidthingbps`:double,`defaultenaqueuecountperinterface`:bigint,`maximumenaqueuecount`:bigint,`maximumenaqueuecountperinterface`:bigint,`interfacetypes`:array<string>>>,`ipv4addressesperinterface`:bigint,`ipv6addressesperinterface`:bigint,`ipv6supported`:boolean,`enasupport`:string,`efasupported`:boolean,`efainfo`:struct<`maximumefainterfaces`:bigint>,`encryptionintransitsupported`:boolean,`enasrdsupported`:boolean,`bandwidthweightings`:array<string>,`flexibleenaqueuessupport`:string,`connectiontrackingconfiguration`:struct<`defaulttcpestablishedtimeout`:bigint,`defaultudptimeout`:bigint,`defaultudpstreamtimeout`:bigint>,`secondarynetworksupported`:boolean,`maximumsecondarynetworkinterfaces`:bigint,`ipv4addressespersecondaryinterface`:bigint>,`gpuinfo`:struct<`gpus`:array<struct<`name`:string,`manufacturer`:string,`count`:bigint,`logicalgpucount`:bigint,`gpupartitionsize`:double,`workloads`:array<string>,`memoryinfo`:struct<`sizeinmib`:bigint>>>,`totalgpumemoryinmib`:bigint>,`fpgainfo`:struct<`fpgas`:array<struct<`name`:string,`manufacturer`:string,`count`:bigint,`memoryinfo`:struct<`sizeinmib`:bigint>>>,`totalfpgamemoryinmib`:bigint>,`placementgroupinfo`:struct<`supportedstrategies`:array<string>>,`inferenceacceleratorinfo`:struct<`accelerators`:array<struct<`count`:bigint,`name`:string,`manufacturer`:string,`memoryinfo`:struct<`sizeinmib`:bigint>>>,`totalinferencememoryinmib`:bigint>,`hibernationsupported`:boolean,`burstableperformancesupported`:boolean,`dedicatedhostssupported`:boolean,`autorecoverysupported`:boolean,`supportedbootmodes`:array<string>,`nitroenclavessupport`:string,`nitrotpmsupport`:string,`nitrotpminfo`:struct<`supportedversions`:array<string>>,`mediaacceleratorinfo`:struct<`accelerators`:array<struct<`count`:bigint,`name`:string,`manufacturer`:string,`memoryinfo`:struct<`sizeinmib`:bigint>>>,`totalmediamemoryinmib`:bigint>,`neuroninfo`:struct<`neurondevices`:array<struct<`count`:bigint,`name`:string,`coreinfo`:struct<`count`:bigint,`version`:bigint>,`memoryinfo`:struct<`sizeinmib`:bigint>>>,`totalneurondevicememoryinmib`:bigint>,`phcsupport`:string,`rebootmigrationsupport`:string,`supportedinregion`:boolean>,
  `metadatarecordlastupdatedat` timestamp
)
COMMENT 'One line per EC2 instance managed by CloneSquad'
PARTITIONED BY (
  `accountid` string,
  `region` string,
  `groupname` string
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/instances/'
TBLPROPERTIES ('classification'='json', 'compressionType'='gzip');
