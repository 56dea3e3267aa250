// Editing the configuration's variables: values per platform and audience, and two-way variables.
import { ref } from 'vue';

const PLATFORMS = ['all', 'linux', 'windows', 'darwin'];
const AUDIENCES = ['all', 'workers', 'users'];

export default {
  name: 'VariablesEditor',
  props: {
    variables: { type: Object, required: true }, // mutated in place
    problems: { type: Object, required: true },
  },
  setup(props) {
    const newName = ref('');

    function platformText(value) {
      return value.platforms?.length ? value.platforms.join(', ') : value.platform || '';
    }
    function setPlatform(value, text) {
      const names = text.split(',').map((part) => part.trim()).filter(Boolean);
      delete value.platforms;
      delete value.platform;
      if (names.length > 1) value.platforms = names;
      else value.platform = names[0] || '';
    }
    function setAudience(value, audience) {
      if (audience === 'all') delete value.audience;
      else value.audience = audience;
    }
    function setTwoWay(variable, on) {
      if (on) variable.is_twoway = true;
      else delete variable.is_twoway;
    }
    function addValue(variable) {
      variable.values = variable.values || [];
      variable.values.push({ platform: 'all', value: '' });
    }
    function addVariable() {
      const name = newName.value.trim();
      if (!name || props.variables[name]) return;
      props.variables[name] = { values: [{ platform: 'all', value: '' }] };
      newName.value = '';
    }
    function removeVariable(name) {
      delete props.variables[name];
    }
    return { newName, platformText, setPlatform, setAudience, setTwoWay, addValue, addVariable, removeVariable, PLATFORMS, AUDIENCES };
  },
  template: `<div class="variables-editor" data-testid="variables-editor">
    <p class="hint">Task commands use variables as <code>{name}</code>; each Worker gets the value for its platform.
      Values for audience “users” are what the Blender add-on sees. A <strong>two-way</strong> variable also works backwards:
      paths submitted from any platform that start with one of its values are turned into <code>{name}</code>, so that
      every Worker gets the path as its own platform writes it.</p>
    <datalist id="variable-platforms"><option v-for="platform in PLATFORMS" :key="platform" :value="platform"></option></datalist>
    <section v-for="(variable, name) in variables" :key="name" class="card variable" :aria-label="'Variable ' + name">
      <div class="variable-heading">
        <h3><code>{{ '{' + name + '}' }}</code></h3>
        <label class="switch"><input type="checkbox" role="switch" :checked="!!variable.is_twoway" @change="setTwoWay(variable, $event.target.checked)"> Two-way</label>
        <button type="button" class="danger" @click="removeVariable(name)" :aria-label="'Remove variable ' + name">Remove</button>
      </div>
      <p v-if="problems['variables.' + name]" class="error-text">{{ problems['variables.' + name] }}</p>
      <table class="plain-table">
        <thead><tr><th scope="col">Platform</th><th scope="col">Audience</th><th scope="col">Value</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
        <tbody>
          <tr v-for="(value, index) in variable.values" :key="index">
            <td><input list="variable-platforms" :value="platformText(value)" @input="setPlatform(value, $event.target.value)" :aria-label="name + ' value ' + (index + 1) + ' platform'" :aria-invalid="!!problems['variables.' + name + '.' + index]" size="10">
              <div v-if="problems['variables.' + name + '.' + index]" class="error-text">{{ problems['variables.' + name + '.' + index] }}</div></td>
            <td><select :value="value.audience || 'all'" @change="setAudience(value, $event.target.value)" :aria-label="name + ' value ' + (index + 1) + ' audience'">
              <option v-for="audience in AUDIENCES" :key="audience" :value="audience">{{ audience }}</option></select></td>
            <td class="grow"><input v-model="value.value" :aria-label="name + ' value ' + (index + 1)"></td>
            <td><button type="button" class="icon-button" @click="variable.values.splice(index, 1)" :aria-label="'Remove value ' + (index + 1) + ' of ' + name">✕</button></td>
          </tr>
        </tbody>
      </table>
      <button type="button" @click="addValue(variable)">Add value</button>
    </section>
    <form class="form-row" @submit.prevent="addVariable">
      <label>New variable <input v-model="newName" placeholder="name" data-testid="new-variable-name"></label>
      <button type="submit" :disabled="!newName.trim() || !!variables[newName.trim()]">Add variable</button>
    </form>
  </div>`,
};
