-- Captures and rejects whose file the manifest (source_files) does not list: the manifest
-- lost rows. Every file a run reads gets a manifest row, kept after the file is gone, so
-- none should be here. The data checks look the other way (every manifest row has its
-- capture or reject) and, run by run, only at what the run touched; a lake whose
-- source_files buckets were deleted rebuilt into such a warehouse, which then counted
-- every file as new. `newswh rebuild` refuses one, `newswh verify` names it.
select 'captures' as found_in, source_path
from captures
anti join source_files using (source_path)
union all
select 'rejects', source_path
from rejects
anti join source_files using (source_path)
order by found_in, source_path;
